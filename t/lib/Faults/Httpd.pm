package Faults::Httpd;
# An httpd of the fault scenarios' own (t/1*_*.t): the same binary, MPM and
# module as the Apache::Test server, but its own ServerRoot under
# t/run/faults/NAME-MPM, its own dosers (fresh queues, short windows), its own
# error log and pid, so a scenario can kill its dispatcher, reload it ten
# times or point it at a hanging endpoint without touching the shared server
# the other tests use. Loopback only; started and stopped by pid.
#
#   my $h = Faults::Httpd->new(name => 'tick', dosers => ['chaos queue=URL lambda=receptor-run ...'],
#                              locations => { '/chaos' => 'chaos' }, server => "DosificadorTimeout 2s\n");
#   $h->start; $h->post('/chaos', $json); $h->graceful; $h->stop;
use strict;
use warnings FATAL => 'all';

use Time::HiRes ();
use File::Path qw(make_path remove_tree);
use IO::Socket::INET ();
use HTTP::Tiny ();
use JSON::PP ();
use Apache::Test ();
use Dsf::Env ();

my %running;    # pid => $self, so an aborted test still stops its httpd
my $owner = $$; # ... but only the test process, never a child it forked

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1)
        or die "no free loopback port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub new {
    my ($class, %o) = @_;
    my $vars = Apache::Test::vars();
    my $mpm = $o{mpm} || $ENV{DSF_MPM} || 'event';
    my $self = bless {
        name      => $o{name} || 'faults',
        mpm       => $mpm,
        httpd     => $o{httpd} || $vars->{httpd} || $ENV{HTTPD} || '/usr/sbin/apache2',
        user      => $vars->{user} || 'nobody',
        group     => $vars->{group} || 'nogroup',
        dosers    => $o{dosers} || [],
        locations => $o{locations} || {},
        server    => $o{server} // '',
        mpm_conf  => $o{mpm_conf} // '',
        sqs       => $o{sqs_endpoint} || $ENV{DSF_SQS_ENDPOINT},
        lambda    => $o{lambda_endpoint} || $ENV{DSF_LAMBDA_ENDPOINT},
        creds     => $o{credentials} || "static $ENV{DSF_AKID} $ENV{DSF_SECRET}",
        loglevel  => $o{loglevel} || 'info',
        # DSF_MODULE_SO: another build of the module (make check-asan's).
        module    => $o{module} || $ENV{DSF_MODULE_SO} || Dsf::Env::top_dir() . '/.libs/mod_dosificador.so',
    }, $class;
    $self->{dir} = Dsf::Env::t_dir() . "/run/faults/$self->{name}-$mpm";
    $self->{port} = _free_port();
    return $self;
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{port} }
sub url  { "http://127.0.0.1:$_[0]{port}$_[1]" }
sub errlog_file { "$_[0]{dir}/logs/error_log" }

# The configuration: the Apache::Test MPM file's LoadModule lines (Debian's
# MPMs are modules), the module, the dosers and their locations, a status
# page and a plain document.
sub write_conf {
    my ($self) = @_;
    my $d = $self->{dir};
    my $top = Dsf::Env::top_dir();
    my $t = Dsf::Env::t_dir();
    my $user = $> == 0 ? "User $self->{user}\nGroup $self->{group}\n" : '';
    my $dosers = join '', map { "Dosificador $_\n" } @{ $self->{dosers} };
    my $locs = join '', map {
        "<Location $_>\n    SetHandler dosificador\n    DosificadorEnqueue $self->{locations}{$_}\n</Location>\n"
    } sort keys %{ $self->{locations} };
    my $conf = <<"EOF";
# Written by t/lib/Faults/Httpd.pm for a fault scenario.
ServerRoot "$d"
ServerName 127.0.0.1
Listen 127.0.0.1:$self->{port}
PidFile "$d/logs/httpd.pid"
ErrorLog "$d/logs/error_log"
LogLevel $self->{loglevel}
DefaultRuntimeDir "$d/logs"
${user}Include "$t/conf/mpm/$self->{mpm}.conf"
TypesConfig /dev/null
DocumentRoot "$d/htdocs"
<Directory "$d/htdocs">
    Require all granted
</Directory>
KeepAlive On
<IfModule mpm_event_module>
    StartServers 2
    ThreadsPerChild 10
    MinSpareThreads 5
    MaxSpareThreads 30
    MaxRequestWorkers 30
</IfModule>
<IfModule mpm_prefork_module>
    StartServers 3
    MinSpareServers 2
    MaxSpareServers 6
    MaxRequestWorkers 20
</IfModule>
$self->{mpm_conf}
LoadModule dosificador_module "$self->{module}"
DosificadorRegion us-east-1
DosificadorEndpoint sqs    $self->{sqs}
DosificadorEndpoint lambda $self->{lambda}
DosificadorCredentials $self->{creds}
$self->{server}
$dosers
$locs
<Location /dsf-status>
    SetHandler dosificador-status
</Location>
EOF
    open my $fh, '>', "$d/httpd.conf.tmp" or die "$d/httpd.conf: $!";
    print $fh $conf;
    close $fh or die "$d/httpd.conf: $!";
    rename "$d/httpd.conf.tmp", "$d/httpd.conf" or die "rename: $!";
    chmod 0644, "$d/httpd.conf";
}

# Changes dosers/locations/server/endpoints for the next start or graceful.
sub reconfigure {
    my ($self, %o) = @_;
    for my $k (qw(dosers locations server mpm_conf)) { $self->{$k} = $o{$k} if exists $o{$k} }
    $self->{sqs} = $o{sqs_endpoint} if $o{sqs_endpoint};
    $self->{lambda} = $o{lambda_endpoint} if $o{lambda_endpoint};
    $self->{creds} = $o{credentials} if $o{credentials};
    $self->write_conf if $self->{pid};     # else start() writes it
    return $self;
}

sub start {
    my ($self) = @_;
    my $d = $self->{dir};
    $self->stop if $self->{pid};
    remove_tree($d);
    make_path("$d/logs", "$d/htdocs");
    chmod 0755, Dsf::Env::t_dir() . '/run', Dsf::Env::t_dir() . '/run/faults', $d, "$d/logs", "$d/htdocs";
    open my $fh, '>', "$d/htdocs/index.html" or die $!;
    print $fh "<p>fault scenario $self->{name}</p>\n";
    close $fh;
    chmod 0644, "$d/htdocs/index.html";
    $self->write_conf;
    my $out = `$self->{httpd} -f $d/httpd.conf -k start 2>&1`;
    die "httpd -k start failed ($?): $out" if $?;
    my $end = Time::HiRes::time() + 20;
    while (Time::HiRes::time() < $end) {
        if (!$self->{pid} && open my $pf, '<', "$d/logs/httpd.pid") {
            my $pid = <$pf>;
            close $pf;
            if ($pid && $pid =~ /^(\d+)/) {
                $self->{pid} = $1;
                $running{$1} = $self;
            }
        }
        if ($self->{pid}) {
            my $r = $self->get('/index.html');
            return $self if $r->{status} == 200;
        }
        Time::HiRes::sleep(0.1);
    }
    die "httpd $self->{name} did not come up; error_log:\n" . join('', ($self->errlog)[-20 .. -1]);
}

sub pid { $_[0]{pid} }

sub alive {
    my ($pid) = @_;
    return $pid && kill(0, $pid);
}

# Every process whose parent is the httpd parent (workers and dispatchers).
sub children {
    my ($self) = @_;
    return () unless $self->{pid};
    return map { /(\d+)/ ? $1 : () } `ps -o pid= --ppid $self->{pid}`;
}

# Stops the parent (SIGTERM, then SIGKILL after 10 s) and waits for every
# process it had: the dispatchers finish their tick first.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    my @kids = $self->children;
    push @kids, $self->dispatcher_pids;
    kill TERM => $pid;
    my $end = Time::HiRes::time() + 10;
    Time::HiRes::sleep(0.1) while alive($pid) && Time::HiRes::time() < $end;
    kill KILL => $pid if alive($pid);
    $end = Time::HiRes::time() + 10;
    Time::HiRes::sleep(0.1) while (grep { alive($_) } @kids) && Time::HiRes::time() < $end;
    kill KILL => grep { alive($_) } @kids;
    delete $running{$pid};
    delete $self->{pid};
}

END {
    my $rc = $?;
    if ($$ == $owner) { $_->stop for values %running }
    $? = $rc;
}

sub errlog {
    my ($self) = @_;
    open my $fh, '<', $self->errlog_file or return ();
    my @l = <$fh>;
    close $fh;
    return @l;
}

sub starts { scalar grep { /resuming normal operations/ } $_[0]->errlog }

# Dispatcher pids in the order the log announced them (DSF00402).
sub dispatcher_pids {
    my ($self, $doser) = @_;
    my $re = defined $doser ? qr/DSF00402: doser \Q$doser\E: dispatcher (\d+) running/
                            : qr/DSF00402: doser \S+: dispatcher (\d+) running/;
    return map { /$re/ ? $1 : () } $self->errlog;
}

# apachectl graceful: SIGUSR1 to the parent, then wait for the new generation.
sub graceful {
    my ($self, $timeout) = @_;
    my $before = $self->starts;
    kill USR1 => $self->{pid} or die "graceful: no httpd $self->{pid}";
    my $end = Time::HiRes::time() + ($timeout // 15);
    while (Time::HiRes::time() < $end) {
        return 1 if $self->starts > $before;
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

my $JSON = JSON::PP->new->utf8(1)->canonical(1)->allow_nonref(1);

sub _http { HTTP::Tiny->new(timeout => $_[0] // 30, keep_alive => 0) }

sub post {
    my ($self, $path, $body, %o) = @_;
    my $ct = delete $o{ct} // 'application/json';
    my $r = _http(delete $o{timeout})->request(POST => $self->url($path), {
        content => $body, headers => { 'Content-Type' => $ct, %o } });
    return $r;
}

sub get {
    my ($self, $path, %o) = @_;
    return _http(delete $o{timeout})->request(GET => $self->url($path), { headers => \%o });
}

sub status_json {
    my ($self) = @_;
    my $r = $self->get('/dsf-status?json');
    return undef unless $r->{status} == 200;
    return eval { $JSON->decode($r->{content}) };
}

# The doser's entry of the status page.
sub status_doser {
    my ($self, $name) = @_;
    my $j = $self->status_json or return undef;
    my @d = ref $j eq 'HASH' ? @{ $j->{dosers} || [] } : ();
    my ($d) = grep { ($_->{name} // '') eq $name } @d;
    return $d;
}

1;
