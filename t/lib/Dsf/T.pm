package Dsf::T;
# Helpers for mod_dosificador's integration tests: requests to the test httpd,
# the rig's real parts (the AWS SDK client, the fault proxies, the receptor's
# records), and the dose analysis every dispatch test shares.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Time::HiRes ();
use JSON::PP ();
use HTTP::Tiny ();
use HTTP::Request ();
use Digest::MD5 ();
use Test::More ();
use Apache::TestRequest ();
use Apache::Test ();
use Dsf::Env ();

our @EXPORT = qw(now_ms sleep_ms post get_req decode_or_fail jenc jdec jdec_chars tag_for
                 sqs sqs_drain sqs_count fault fault_log fault_reset receptor
                 receptor_objects wait_until md5_hex assert_signed
                 ticks_of invocations_of check_dose object_key is_compact
                 delivered error_log_lines httpd_pid dispatcher_pid graceful);

Dsf::Env::load(required => 1);

# Bodies on the wire are UTF-8 bytes; these encode to and decode from bytes.
my $JSON = JSON::PP->new->utf8(1)->canonical(1)->allow_nonref(1);

sub jenc { $JSON->encode($_[0]) }
sub jdec { JSON::PP->new->utf8(1)->allow_nonref(1)->decode($_[0]) }
# For JSON held in a string that was itself inside decoded JSON (an SQS
# message Body, a record's body): that string is characters, not bytes.
sub jdec_chars { JSON::PP->new->allow_nonref(1)->decode($_[0]) }

sub now_ms { int(Time::HiRes::time() * 1000) }
sub sleep_ms { Time::HiRes::sleep($_[0] / 1000) }
# MD5 of a string's UTF-8 encoding, as SQS computes MD5OfMessageBody.
sub md5_hex { my $s = $_[0]; utf8::encode($s) if utf8::is_utf8($s); Digest::MD5::md5_hex($s) }

# A tag unique to this test file and run, carried by every object it posts.
sub tag_for {
    my ($name) = @_;
    return sprintf '%s-%d-%d', $name, $$, now_ms();
}

sub _ua {
    Apache::TestRequest::user_agent(reset => 1, timeout => 30, keep_alive => 0,
                                    requests_redirectable => 0);
}

# POSTs $body to $path of the test httpd; returns the HTTP::Response.
sub post {
    my ($path, $body, %h) = @_;
    my $ct = exists $h{'Content-Type'} ? delete $h{'Content-Type'} : 'application/json';
    _ua();
    my @ct = defined $ct ? ('Content-Type' => $ct) : ();
    return Apache::TestRequest::POST($path, content => $body, @ct, %h);
}

# Any method: get_req(PUT => '/envio', content => ..., Header => value).
sub get_req {
    my ($method, $path, %h) = @_;
    _ua();
    my $content = delete $h{content};
    my $req = HTTP::Request->new($method => Apache::TestRequest::resolve_url($path), [%h]);
    $req->content($content) if defined $content;
    return Apache::TestRequest::user_agent()->request($req);
}

# The response's JSON body, or undef (with a diagnostic) when it is not JSON.
sub decode_or_fail {
    my ($res) = @_;
    my $j = eval { jdec($res->content) };
    Test::More::diag("not JSON (" . $res->code . "): " . substr($res->content // '', 0, 500))
        unless defined $j;
    return $j;
}

# The official AWS SDK for JavaScript (t/rig/sqs.js), straight to the emulator.
sub sqs {
    my ($cmd, %a) = @_;
    my @args = ('node', Dsf::Env::t_dir() . '/rig/sqs.js', $cmd);
    for my $k (sort keys %a) {
        push @args, "--$k";
        push @args, $a{$k} unless $k eq 'all';
    }
    open my $fh, '-|', @args or die "sqs.js: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    die "sqs.js $cmd failed (exit " . ($? >> 8) . ")\n" if $?;
    return jdec($out);
}

# Receives and deletes everything visible in a queue; returns the messages.
sub sqs_drain {
    my ($queue) = @_;
    return sqs('drain', queue => $queue, wait => 0);
}

# Visible + in flight + delayed messages of a queue.
sub sqs_count {
    my ($queue) = @_;
    my $a = sqs('attrs', queue => $queue);
    return $a->{ApproximateNumberOfMessages} + $a->{ApproximateNumberOfMessagesNotVisible}
         + ($a->{ApproximateNumberOfMessagesDelayed} // 0);
}

my $http = HTTP::Tiny->new(timeout => 10);

sub _ctl {
    my ($svc) = @_;
    my $url = $svc eq 'sqs' ? $ENV{DSF_SQS_FAULT_CTL} : $ENV{DSF_LAMBDA_FAULT_CTL};
    die "no fault proxy for $svc in the rig environment\n" unless $url;
    return $url;
}

# Switches the fault proxy in front of 'sqs' or 'lambda': fault(sqs => {mode => 'refuse'}).
sub fault {
    my ($svc, $spec) = @_;
    my $r = $http->post(_ctl($svc) . '/__fault', {
        content => jenc($spec), headers => { 'Content-Type' => 'application/json' } });
    die "fault $svc: $r->{status} $r->{content}\n" unless $r->{success};
    return jdec($r->{content});
}

sub fault_log {
    my ($svc, $since) = @_;
    my $r = $http->get(_ctl($svc) . '/__fault/log?since=' . ($since // 0));
    die "fault log $svc: $r->{status}\n" unless $r->{success};
    return jdec($r->{content});
}

sub fault_reset {
    fault(sqs => { mode => 'pass' });
    fault(lambda => { mode => 'pass' });
}

# The receptor's records (one per invocation it ran): {fn, receivedAt, event}.
sub receptor {
    my (%o) = @_;
    my $file = $ENV{DSF_RECEPTOR_OUT};
    open my $fh, '<', $file or die "$file: $!";
    my @r;
    while (my $line = <$fh>) {
        next unless $line =~ /\S/;
        my $rec = eval { jdec($line) };
        if (!$rec) {
            Test::More::diag("receptor record is not JSON: $line");
            next;
        }
        next if defined $o{fn} && $rec->{fn} ne $o{fn};
        next if defined $o{since} && $rec->{receivedAt} < $o{since};
        push @r, $rec;
    }
    close $fh;
    return \@r;
}

# The objects one receptor record carries: an array payload's elements, or a
# records payload's bodies (decoded).
sub receptor_objects {
    my ($rec) = @_;
    my $ev = $rec->{event};
    return @$ev if ref $ev eq 'ARRAY';
    return map { jdec_chars($_->{body}) } @{ $ev->{Records} || [] } if ref $ev eq 'HASH';
    return;
}

# Compact JSON: no whitespace outside strings.
sub is_compact {
    my ($json) = @_;
    (my $outside = $json) =~ s/"(?:[^"\\]|\\.)*"//g;
    return $outside !~ /\s/;
}

sub object_key {
    my ($o) = @_;
    return ref $o eq 'HASH' && defined $o->{tag} ? "$o->{tag}#$o->{i}" : jenc($o);
}

# How many times each object with this tag reached the receptor fn:
# { "tag#i" => count }.
sub delivered {
    my (%o) = @_;
    my %seen;
    for my $rec (@{ receptor(fn => $o{fn}, since => $o{since}) }) {
        $seen{ object_key($_) }++
            for grep { ref $_ eq 'HASH' && ($_->{tag} // '') eq $o{tag} } receptor_objects($rec);
    }
    return \%seen;
}

sub error_log_lines {
    my $file = Apache::Test::vars('t_logs') . '/error_log';
    open my $fh, '<', $file or die "$file: $!";
    my @l = <$fh>;
    close $fh;
    return @l;
}

sub httpd_pid {
    my $file = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $file or die "$file: $!";
    chomp(my $pid = <$fh>);
    close $fh;
    return $pid;
}

# The pid of a doser's running dispatcher, from its latest DSF00402 line.
sub dispatcher_pid {
    my ($doser) = @_;
    my ($pid) = reverse map { /DSF00402: doser \Q$doser\E: dispatcher (\d+) running/ ? $1 : () } error_log_lines();
    return $pid;
}

# apachectl graceful: SIGUSR1 to the parent; returns once httpd logged that
# it resumed (or undef after $timeout s).
sub graceful {
    my ($timeout) = @_;
    my $starts = sub { scalar grep { /resuming normal operations/ } error_log_lines() };
    my $before = $starts->();
    kill USR1 => httpd_pid() or return undef;
    return wait_until($timeout // 10, sub { $starts->() > $before }, 50);
}

sub wait_until {
    my ($timeout_s, $cb, $every_ms) = @_;
    my $end = Time::HiRes::time() + $timeout_s;
    while (1) {
        my $v = $cb->();
        return $v if $v;
        return undef if Time::HiRes::time() > $end;
        sleep_ms($every_ms // 200);
    }
}

# Every request the module sent since $since went through the SigV4 gates;
# the gate answers AWS's 403 on a signature it cannot reproduce, and the fault
# proxies (in front of the gates) see that answer.
sub assert_signed {
    my ($since, $what) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @bad;
    my $n = 0;
    for my $svc (qw(sqs lambda)) {
        for my $e (@{ fault_log($svc, $since) }) {
            next unless ($e->{outcome} // '') eq 'pass';
            $n++;
            push @bad, "$svc $e->{action} -> $e->{status}"
                if defined $e->{status} && $e->{status} == 403;
        }
    }
    Test::More::ok(@bad == 0, "$what: none of the $n calls to AWS was refused by the signature gate")
        or Test::More::diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
    Test::More::ok(($ENV{DSF_GATES} // '') eq 'on', "$what: calls went through the SigV4 gates")
        or Test::More::diag("the rig ran without gates (DSF_GATES=" . ($ENV{DSF_GATES} // '') . ")");
}

# Tick starts of a doser, from the ReceiveMessage calls on its queue the SQS
# fault proxy saw: a tick's receives come back to back; a gap of more than
# a quarter window starts the next tick.
sub ticks_of {
    my ($queue, $since, $window_ms) = @_;
    my @t = sort { $a <=> $b } map { $_->{t} }
        grep { ($_->{action} // '') eq 'ReceiveMessage' && ($_->{queue} // '') eq $queue }
        @{ fault_log(sqs => $since) };
    my (@ticks, $prev);
    for my $t (@t) {
        push @ticks, $t if !defined $prev || $t - $prev > $window_ms / 4;
        $prev = $t;
    }
    return \@ticks;
}

# Invoke calls for a function the Lambda fault proxy saw (accepted or not).
sub invocations_of {
    my ($fn, $since) = @_;
    return [ sort { $a->{t} <=> $b->{t} }
             grep { defined $_->{fn} && ($_->{fn} eq $fn || $_->{fn} =~ /:function:\Q$fn\E$/) }
             @{ fault_log(lambda => $since) } ];
}

sub _tick_index {
    my ($ticks, $t) = @_;
    my $k = -1;
    for my $i (0 .. $#$ticks) {
        last if $ticks->[$i] > $t;
        $k = $i;
    }
    return $k;
}

# The quota, checked over everything a doser did since $since:
#  - ticks on a grid one window apart: never two ticks less than a window
#    apart (50 ms of measurement slack), never two in one slot, each within
#    1 s of its slot (no drift);
#  - per tick, at most N Invoke calls (accepted or not) and at most N receptor
#    records, each invocation and each record with at most M objects.
# Returns [ {start, invokes => [...], records => [...], objects => n} ... ].
sub check_dose {
    my (%o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($N, $M, $W) = @o{qw(N M window_ms)};
    my $what = $o{what} // "doser $o{fn}";
    my $ticks = ticks_of($o{queue}, $o{since}, $W);
    my $inv = invocations_of($o{fn}, $o{since});
    my $recs = receptor(fn => $o{receptor_fn} // $o{fn}, since => $o{since});

    my @gaps = map { $ticks->[$_] - $ticks->[$_ - 1] } 1 .. $#$ticks;
    my @short = grep { $_ < $W - 50 } @gaps;
    Test::More::ok(@$ticks >= ($o{min_ticks} // 1), "$what: ticked (" . scalar(@$ticks) . " ticks seen)");
    Test::More::ok(!@short, "$what: no two ticks less than a window ($W ms) apart")
        or Test::More::diag("gaps between ticks (ms): @gaps");
    if (@$ticks >= 2) {
        my $t0 = $ticks->[0];
        my @off = map { my $k = int(($_ - $t0) / $W + 0.5); $_ - $t0 - $k * $W } @$ticks;
        my ($lo, $hi) = (sort { $a <=> $b } @off)[0, -1];
        Test::More::ok($hi - $lo < 1000, "$what: ticks stay on a grid of one window (spread " . ($hi - $lo) . " ms)")
            or Test::More::diag("offsets from the grid (ms): @off");
    }

    my @per = map { { start => $_, invokes => [], records => [], objects => 0 } } @$ticks;
    my @orphans;
    for my $e (@$inv) {
        my $k = _tick_index($ticks, $e->{t});
        if ($k < 0) { push @orphans, $e; next }
        push @{ $per[$k]{invokes} }, $e;
    }
    # A record belongs to the tick of the Invoke call that carried its event
    # (serverless-offline may start a handler late, on a cold worker); only
    # an event too large for the proxy's log goes by its receive time.
    my %invoke_t;
    for my $e (@$inv) {
        next unless defined $e->{body};
        my $ev = eval { jdec_chars($e->{body}) };
        push @{ $invoke_t{ jenc($ev) } }, $e->{t} if defined $ev;
    }
    for my $r (@$recs) {
        my $key = jenc($r->{event});
        my $t = $invoke_t{$key} && @{ $invoke_t{$key} } ? shift @{ $invoke_t{$key} } : $r->{receivedAt};
        my $k = _tick_index($ticks, $t);
        if ($k < 0) { push @orphans, $r; next }
        push @{ $per[$k]{records} }, $r;
        $per[$k]{objects} += scalar(receptor_objects($r));
    }
    Test::More::ok(!@orphans, "$what: every invocation came after a tick's receive")
        or Test::More::diag(scalar(@orphans) . " invocations/records before the first tick seen");

    # No message is deleted unless its invocation was accepted (202).
    my $accepted_objects = 0;
    $accepted_objects += ($_->{objects} // 0) for grep { ($_->{status} // 0) == 202 } @$inv;
    my $deleted = 0;
    $deleted += $_->{entries} // 0
        for grep { ($_->{queue} // '') eq $o{queue} && ($_->{action} // '') eq 'DeleteMessageBatch' }
            @{ fault_log(sqs => $o{since}) };
    Test::More::ok($deleted <= $accepted_objects,
        "$what: deleted no more messages ($deleted) than accepted invocations carried ($accepted_objects)");

    my @over_n = grep { @{ $_->{invokes} } > $N || @{ $_->{records} } > $N } @per;
    Test::More::ok(!@over_n, "$what: never more than N=$N invocations in a window")
        or Test::More::diag(join "\n", map {
            sprintf "tick at %d: %d Invoke calls, %d receptor records", $_->{start},
                scalar @{ $_->{invokes} }, scalar @{ $_->{records} } } @over_n);
    my @over_m = (grep({ defined $_->{objects} && $_->{objects} > $M } @$inv),
                  grep({ scalar(receptor_objects($_)) > $M } @$recs));
    Test::More::ok(!@over_m, "$what: never more than M=$M objects in an invocation")
        or Test::More::diag(scalar(@over_m) . " invocations over M");
    return \@per;
}

1;
