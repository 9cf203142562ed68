# TLS (issue 4, security): certificates are verified by default; turning
# that off takes an explicit directive and logs a warning at every start.
# The SQS endpoint is a loopback TLS server with a self-signed certificate
# (a node https server that answers any request with an HTML page):
#  - default: the handshake is refused, ingest answers 503, nothing is sent;
#  - DosificadorCAFile naming that certificate: the handshake succeeds, the
#    HTML answer is a malformed SQS answer (DSF00201), still never a 202;
#  - DosificadorTLSVerify off: DSF00509 warns at startup and the untrusted
#    server is reached.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use IO::Socket::INET ();
use lib 't/lib';
use Dsf::T;
use Dsf::Env;
use Faults::Httpd;
use Faults::Util qw(make_queue wait_for);

my $Q = make_queue('f18');
my $dir = Dsf::Env::t_dir() . '/run/faults/f18-tls-' . ($ENV{DSF_MPM} || 'event');
system('rm', '-rf', $dir);
system('mkdir', '-p', $dir);
chmod 0755, $dir;
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/key.pem -out $dir/cert.pem -days 1 "
       . "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >$dir/openssl.log 2>&1") == 0
    or BAIL_OUT("openssl req failed: " . `cat $dir/openssl.log`);
chmod 0644, "$dir/cert.pem";

my $port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
};
my $me = $$;
my $srv = fork // die "fork: $!";
if (!$srv) {
    open STDOUT, '>', "$dir/https.log" or die $!;
    open STDERR, '>&', \*STDOUT or die $!;
    # A loopback HTTPS server that answers every request with an HTML page.
    exec 'node', '-e', q{
        const https = require('https'), fs = require('fs'), [key, cert, port] = process.argv.slice(1);
        https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (q, s) => {
            q.resume();
            q.on('end', () => { s.writeHead(200, { 'Content-Type': 'text/html' }); s.end('<html>not SQS</html>'); });
        }).listen(Number(port), '127.0.0.1', () => console.log('listening'));
    }, "$dir/key.pem", "$dir/cert.pem", $port;
    die "exec node: $!";
}
END { if ($$ == $me && $srv) { my $rc = $?; kill TERM => $srv; waitpid($srv, 0); $? = $rc } }
ok(wait_for(10, sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1) }), 'a TLS server with a self-signed certificate');
my $url = "https://127.0.0.1:$port";

my $h = Faults::Httpd->new(name => 'f18',
    dosers => ["tls queue=$Q lambda=receptor-run window=3600s"], locations => { '/tls' => 'tls' },
    sqs_endpoint => $url, server => "DosificadorTimeout 3s\n");
$h->start;
ok(!(grep { /DSF00509/ } $h->errlog), 'default: no TLS warning at startup (verification is on)');
my $r = $h->post('/tls', jenc([{ i => 1 }]));
is($r->{status}, 503, 'default: an untrusted certificate is refused: 503');
ok(wait_for(2, sub { grep { /DSF00203:.*SendMessageBatch: no answer \(.*(certificate|SSL)/i } $h->errlog }),
   'the log says why (the certificate)') or diag(join '', grep { /DSF002/ } $h->errlog);

$h->reconfigure(server => "DosificadorTimeout 3s\nDosificadorCAFile $dir/cert.pem\n");
ok($h->graceful, 'graceful with DosificadorCAFile naming that certificate');
$r = $h->post('/tls', jenc([{ i => 2 }]));
ok($r->{status} == 502 || $r->{status} == 503, "trusted now: the handshake succeeds, the HTML answer is not SQS's ($r->{status}, never 202)");
ok(wait_for(2, sub { grep { /DSF00201: SendMessageBatch: malformed answer/ } $h->errlog }),
   'DSF00201: the answer was read and refused as malformed');

$h->reconfigure(server => "DosificadorTimeout 3s\nDosificadorTLSVerify off\n");
my $before = () = grep { /DSF00509/ } $h->errlog;
ok($h->graceful, 'graceful with DosificadorTLSVerify off');
my @warn = grep { /DSF00509/ } $h->errlog;
ok(@warn > $before && $warn[-1] =~ /\[dosificador:warn\].*DosificadorTLSVerify off/, 'DSF00509 warns at startup')
    or diag($warn[-1] // 'no DSF00509');
my $n201 = () = grep { /DSF00201/ } $h->errlog;
$r = $h->post('/tls', jenc([{ i => 3 }]));
isnt($r->{status}, 202, "verification off: the self-signed server is reached ($r->{status}), never a 202");
ok(wait_for(2, sub { (() = grep { /DSF00201/ } $h->errlog) > $n201 }), 'its answer read (DSF00201), no certificate error');
$h->stop;
is(sqs_count($Q), 0, 'nothing reached the queue');
done_testing();
