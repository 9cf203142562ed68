# Security (issue 4): no credential, session token or signature in the error
# log (the module at trace8), in any response, or on the status page (HTML,
# JSON, metrics), also when AWS answers with an error that quotes the
# canonical request (as its InvalidSignatureException does, token included);
# the network I/O runs unprivileged: the dispatcher and the workers run as
# httpd's User. Own httpd with a session token (DosificadorCredentials static
# AKID SECRET TOKEN) behind SigV4 gates of its own that require that token
# (t/rig/gate.js --token), then an endpoint that answers every call with
# AWS's 403 quoting the canonical request, first for SQS, then for Lambda.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use IO::Socket::INET ();
use Time::HiRes ();
use POSIX ();
use lib 't/lib';
use Dsf::T;
use Dsf::Env;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for uid_of);

my ($N, $M, $W, $VIS) = (2, 2, 1000, 3);
my $SECRET = $ENV{DSF_SECRET};
my $TOKEN = 'FwoGZXIvYXdzEDsaDEXAMPLEsessionTOKEN' . sprintf('%08x%08x', $$, time);
my $tag = tag_for('f17');
my $Q = make_queue('f17');
fault_reset();
my @kill;    # pids of what this test started
my $me = $$;
END { my $rc = $?; if ($$ == $me) { kill TERM => @kill if @kill; waitpid($_, 0) for @kill } $? = $rc }

# SigV4 gates that require the session token, in front of the emulators.
sub gate {
    my ($svc, $upstream, $dir) = @_;
    my $log = "$dir/gate-$svc.log";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $log or die $!;
        open STDERR, '>&', \*STDOUT or die $!;
        exec 'node', Dsf::Env::t_dir() . '/rig/gate.js', '--listen', '0', '--upstream', $upstream,
            '--access-key', $ENV{DSF_AKID}, '--secret', $SECRET, '--token', $TOKEN, '--service', $svc, '--quiet';
        die "exec node: $!";
    }
    push @kill, $pid;
    my $port = wait_for(15, sub { open my $fh, '<', $log or return; local $/; my $s = <$fh>; $s =~ /listening (\d+)/ ? $1 : undef });
    die "gate $svc did not start\n" unless $port;
    return "http://127.0.0.1:$port";
}

# An endpoint that answers like AWS to a request whose signature it cannot
# match: 403 InvalidSignatureException, quoting the canonical request (with
# x-amz-security-token) and, worse than AWS, the Authorization header.
sub echo403 {
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 64, ReuseAddr => 1)
        or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        while (my $c = $srv->accept) {
            local $/ = "\r\n";
            my $line = <$c> // next;
            my ($method, $path) = split ' ', $line;
            my %hd;
            while (my $l = <$c>) {
                last if $l eq "\r\n";
                $l =~ s/\r\n$//;
                my ($k, $v) = split /:\s*/, $l, 2;
                $hd{ lc $k } = $v;
            }
            my $body = '';
            read($c, $body, $hd{'content-length'}) if $hd{'content-length'};
            my @signed = sort grep { /^(content-type|host|x-amz-[a-z-]+)$/ } keys %hd;
            my $creq = join("\n", $method, $path, '', (map { "$_:$hd{$_}" } @signed), '',
                            join(';', @signed), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
            my $msg = "The request signature we calculated does not match the signature you provided. "
                . "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
                . "The Canonical String for this request should have been\n'$creq'\n\n"
                . "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n"
                . "(the request said: Authorization: " . ($hd{authorization} // '') . ")";
            my $sqs = defined $hd{'x-amz-target'};
            my $json = JSON::PP->new->utf8->encode($sqs
                ? { __type => 'com.amazon.coral.service#InvalidSignatureException', message => $msg }
                : { Type => 'User', message => $msg });
            print $c "HTTP/1.1 403 Forbidden\r\nContent-Type: " . ($sqs ? 'application/x-amz-json-1.0' : 'application/json')
                . "\r\nx-amzn-ErrorType: InvalidSignatureException\r\nx-amzn-RequestId: 0000\r\n"
                . "Content-Length: " . length($json) . "\r\nConnection: close\r\n\r\n$json";
            close $c;
        }
        POSIX::_exit(0);
    }
    push @kill, $pid;
    my $url = 'http://127.0.0.1:' . $srv->sockport;
    close $srv;
    return $url;
}

my $h = Faults::Httpd->new(name => 'f17', loglevel => 'info dosificador:trace8',
    dosers => ["sec queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=1s visibility=${VIS}s payload=records"],
    locations => { '/sec' => 'sec' },
    credentials => "static $ENV{DSF_AKID} $SECRET $TOKEN",
    server => "DosificadorTimeout 3s\n");
# The gates, started before the httpd's directory exists: a scratch dir.
my $scratch = Dsf::Env::t_dir() . '/run/faults/f17-gates-' . ($ENV{DSF_MPM} || 'event');
system('rm', '-rf', $scratch);
system('mkdir', '-p', $scratch);
my $sqs_gate = gate(sqs => $ENV{DSF_FAUXQS_URL}, $scratch);
my $lambda_gate = gate(lambda => $ENV{DSF_LAMBDA_DIRECT_URL}, $scratch);
my $echo = echo403();
$h->reconfigure(sqs_endpoint => $sqs_gate, lambda_endpoint => $lambda_gate);
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag, what => 'with a session token');
$h->start;
my $user_uid = $> == 0 ? (getpwnam(Apache::Test::vars('user') || 'nobody'))[2] : $<;

my @responses;   # everything httpd answered, as text
sub keep { my ($r) = @_; push @responses, join("\n", "$r->{status} $r->{reason}", map({ "$_: $r->{headers}{$_}" } sort keys %{ $r->{headers} }), $r->{content} // ''); $r }
sub status_pages { keep($h->get($_)) for '/dsf-status', '/dsf-status?json', '/dsf-status?metrics' }

# Phase 1: real work with the token (the gates refuse any call without it).
my @objs = map { { tag => $tag, i => $_ } } 0 .. 3;
my $r = keep($h->post('/sec', jenc(\@objs)));
$inv->accept($r, \@objs);
is($r->{status}, 202, 'signed with the session token: 202 (the gate checks it)');
keep($h->post('/sec', '{"broken":'));
keep($h->post('/sec', 'x', ct => 'text/plain'));
keep($h->get('/sec'));
ok($inv->wait_delivered(3 * $W / 1000 + 4), 'and delivered (the Lambda gate checks the token too)');
status_pages();

my $st = $h->status_doser('sec') || {};
my $dpid = $st->{dispatcher}{pid};
ok($dpid, "the dispatcher's pid from the status page ($dpid)");
is(uid_of($dpid), $user_uid, "the dispatcher runs as httpd's User (uid $user_uid)");
my @workers = grep { $_ != $dpid } $h->children;
ok(@workers && !(grep { (uid_of($_) // -1) != $user_uid } @workers), 'so do the workers (' . scalar(@workers) . ')');
is(uid_of($h->pid), $>, 'only the parent keeps the uid that started httpd');

# Phase 2: SQS answers 403 quoting the canonical request.
$h->reconfigure(sqs_endpoint => $echo);
ok($h->graceful, 'graceful: SQS endpoint now answers 403 InvalidSignatureException');
$r = keep($h->post('/sec', jenc([{ tag => $tag, i => 'x' }])));
is($r->{status}, 502, 'ingest: 502');
like($r->{content}, qr/InvalidSignatureException/, "AWS's error code is passed on");
ok(wait_for(4, sub { grep { /DSF00301: doser sec:.*InvalidSignatureException/ } $h->errlog }), 'the tick logs the refused receive (DSF00301)');
status_pages();

# Phase 3: Lambda answers 403 the same way.
$h->reconfigure(sqs_endpoint => $sqs_gate, lambda_endpoint => $echo);
ok($h->graceful, 'graceful: Lambda endpoint now answers 403');
@objs = map { { tag => $tag, i => "l$_" } } 0 .. 1;
$r = keep($h->post('/sec', jenc(\@objs)));
is($r->{status}, 202, 'ingest through the token gate: 202');
ok(wait_for(5, sub { grep { /DSF00302: doser sec:.*InvalidSignatureException/ } $h->errlog }), 'the failed invocation is logged (DSF00302)');
status_pages();
$h->stop;

my @log = $h->errlog;
ok(@log > 20, scalar(@log) . ' lines in the error log (module at trace8)');
my @dsf = grep { /DSF0030[12].*InvalidSignatureException/ } @log;
ok(@dsf >= 2, 'the 403s are in it, with their code');
for my $check (['the secret access key', qr/\Q$SECRET\E/], ['the session token', qr/\Q$TOKEN\E/],
               ['a signature (Signature=...)', qr/Signature=[0-9a-f]{8}/i], ['an Authorization header', qr/Authorization:/i],
               ['the canonical request AWS quoted', qr/Canonical String|x-amz-security-token:/i]) {
    my ($what, $re) = @$check;
    my @l = grep { $_ =~ $re } @log;
    ok(!@l, "$what never appears in the error log") or diag(substr($l[0], 0, 300));
    my @res = grep { $_ =~ $re } @responses;
    ok(!@res, "nor in any of the " . scalar(@responses) . ' responses (ingest, errors, status page)')
        or diag(substr($res[0], 0, 300));
}
ok(scalar(grep { /dosificador_/ } @responses) && scalar(grep { /<html/i } @responses), 'the status page answered in its formats');

# The objects were delivered despite the faults; the one SQS refused was not accepted.
$inv->check_delivery;
$inv->check_queue_end(visibility_s => $VIS);
done_testing();
