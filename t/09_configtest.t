# Wrong configuration fails `apachectl configtest` (httpd -t) with a message
# naming the directive, the key and the reason; a right one passes.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use File::Temp qw(tempdir);
use lib 't/lib';
use Dsf::T;
use Dsf::Env;

my $vars = Apache::Test::vars();
my $httpd = $vars->{httpd};
my $mpm = $ENV{DSF_MPM} || 'event';
my $so = Dsf::Env::top_dir() . '/.libs/mod_dosificador.so';
my $dir = tempdir('configtest-XXXX', DIR => Dsf::Env::t_dir() . '/run', CLEANUP => 1);
my $q = 'https://sqs.us-east-1.amazonaws.com/123456789012/envio-dosificado';

sub configtest {
    my ($body) = @_;
    my $file = "$dir/httpd.conf";
    open my $fh, '>', $file or die "$file: $!";
    print $fh <<"EOF";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:9
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LoadModule mpm_${mpm}_module /usr/lib/apache2/modules/mod_mpm_${mpm}.so
LoadModule dosificador_module $so
DosificadorCredentials static AKIDEXAMPLE wJalrXUtnFEMIEXAMPLEKEY
$body
EOF
    close $fh;
    my $out = `$httpd -t -f $file 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = configtest(<<"EOF");
Dosificador envio queue=$q lambda=envio-invoker perMinute=60 perInvocation=5 window=60s visibility=300s payload=records
<Location /envio>
    SetHandler dosificador
    DosificadorEnqueue envio
</Location>
EOF
is($rc, 0, 'a right configuration passes configtest') or diag($out);
like($out, qr/Syntax OK/, 'Syntax OK');

my @bad = (
    ['unknown key', "Dosificador envio queue=$q lambda=f colour=blue", qr/Dosificador/, qr/colour/, qr/unknown/i],
    ['missing queue', "Dosificador envio lambda=f", qr/Dosificador/, qr/queue/, qr/missing|required|needs/i],
    ['missing lambda', "Dosificador envio queue=$q", qr/Dosificador/, qr/lambda/, qr/missing|required|needs/i],
    ['N < 1', "Dosificador envio queue=$q lambda=f perMinute=0", qr/Dosificador/, qr/perMinute/, qr/'0'|\b1\b/],
    ['M < 1', "Dosificador envio queue=$q lambda=f perInvocation=0", qr/Dosificador/, qr/perInvocation/, qr/'0'|\b1\b/],
    ['unparsable duration', "Dosificador envio queue=$q lambda=f window=soon", qr/Dosificador/, qr/window/, qr/soon/],
    ['used but never defined', "<Location /x>\n  SetHandler dosificador\n  DosificadorEnqueue ghost\n</Location>",
     qr/DosificadorEnqueue/, qr/ghost/, qr/never defined|not defined|undefined/i],
    ['duplicate name', "Dosificador envio queue=$q lambda=f\nDosificador envio queue=$q lambda=g",
     qr/Dosificador/, qr/envio/, qr/duplicate|already/i],
);
for my $b (@bad) {
    my ($what, $conf, @like) = @$b;
    my ($rc2, $out2) = configtest($conf);
    isnt($rc2, 0, "$what: configtest fails");
    my @miss = grep { $out2 !~ $_ } @like;
    ok(!@miss, "$what: the message names the directive, the key and the reason") or diag($out2);
}

done_testing();
