# Fault scenario 4 (issue 4): the dispatcher killed with SIGKILL mid-tick.
# The Lambda fault proxy holds the tick's invocations (hang), so the
# dispatcher is inside a tick when the test kills it (its pid from the
# status page and from "DSF00402: doser NAME: dispatcher PID running").
# httpd's parent starts a new one (unprivileged too), which takes the tick
# over (DSF00401); the grid goes on, no tick comes early, nothing is lost:
# the dead tick's messages come back after the visibility timeout.
# Own httpd, doser N=2 M=2 window=2s visibility=4s, DosificadorTimeout 10s.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for uid_of);

my ($N, $M, $W, $VIS) = (2, 2, 2000, 4);
my $tag = tag_for('f13');
my $Q = make_queue('f13');
fault_reset();
my $h = Faults::Httpd->new(name => 'f13',
    dosers => ["kill queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=2s visibility=${VIS}s payload=records"],
    locations => { '/kill' => 'kill' },
    server => "DosificadorTimeout 10s\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'dispatcher killed');
$h->start;
my $user_uid = $> == 0 ? (getpwnam(Apache::Test::vars('user') || 'nobody'))[2] : $<;

my @objs = map { { tag => $tag, i => $_ } } 0 .. 7;
fault(lambda => { mode => 'hang', match => 'receptor-run' });
my $r = $h->post('/kill', jenc(\@objs));
$inv->accept($r, \@objs);
is($r->{status}, 202, '8 objects accepted');

my $hung = wait_for(2 * $W / 1000 + 2, sub {
    my @e = grep { ($_->{outcome} // '') eq 'hang' } @{ $inv->invokes };
    @e >= $N ? \@e : undef
}, 0.05);
ok($hung, 'the dispatcher is inside a tick: its invocations hang');

my ($logged) = ($h->dispatcher_pids('kill'))[-1];
my $st = $h->status_doser('kill') || {};
my $pid = $st->{dispatcher}{pid};
ok($pid && $pid =~ /^\d+$/, "the status page names the dispatcher (pid " . ($pid // 'none') . ')');
is($pid, $logged, 'the same pid as the DSF00402 log line');
is(uid_of($pid), $user_uid, "the dispatcher runs as httpd's User (uid $user_uid), not root");
ok(kill(KILL => $pid), "SIGKILL to dispatcher $pid mid-tick");
my $killed_at = now_ms();
fault(lambda => { mode => 'pass' });

my $new = wait_for(15, sub {
    my @p = grep { $_ != $pid } $h->dispatcher_pids('kill');
    @p ? $p[-1] : undef
}, 0.1);
ok($new, 'the parent started a new dispatcher (pid ' . ($new // 'none') . ')');
ok(wait_for(2, sub { grep { /DSF00507: doser kill: dispatcher exited unexpectedly/ } $h->errlog }),
   'DSF00507: the parent noticed the death');
is(uid_of($new // 0), $user_uid, 'the new dispatcher is unprivileged too');
is(($h->status_doser('kill') || {})->{dispatcher}{pid}, $new, 'the status page shows the new pid');
ok(Faults::Httpd::alive($h->pid), 'the httpd parent still runs');
ok(wait_for($W / 1000 + 2, sub { grep { /DSF00401: doser kill: dispatcher \Q$pid\E died inside a tick; taking over/ } $h->errlog }),
   'DSF00401: the new dispatcher took the dead one\'s tick over');

ok($inv->wait_delivered($VIS + 4 * $W / 1000 + 4), 'all 8 objects delivered after the visibility timeout');
# The dead tick's own objects (in the hung invocations' payloads) came back
# only after the visibility timeout.
my %dead;
for my $e (@$hung) {
    my $ev = eval { jdec($e->{body} // '') } or next;
    $dead{ object_key(jdec_chars($_->{body})) } = 1 for @{ $ev->{Records} || [] };
}
is(scalar(keys %dead), $N * $M, "the dead tick carried a full dose ($N x $M objects)");
my ($first) = sort { $a <=> $b } map { $_->{receivedAt} }
    grep { grep { $dead{ object_key(jdec_chars($_->{body})) } } @{ $_->{event}{Records} || [] } } @{ $inv->records };
ok($first && $first - $hung->[0]{t} >= $VIS * 1000 - 300,
   'they came back only after the visibility timeout (' . (($first // 0) - $hung->[0]{t}) . ' ms after the dead tick)');

# The grid: every tick, before and after the kill, on t0 + k*W.
my $ticks = $inv->ticks;
my @off = map { my $k = int(($_ - $ticks->[0]) / $W + 0.5); $_ - $ticks->[0] - $k * $W } @$ticks;
my ($lo, $hi) = (sort { $a <=> $b } @off)[0, -1];
ok(@$ticks >= 3 && $hi - $lo < 250, 'the grid goes on across the kill (' . scalar(@$ticks) . " ticks, spread " . ($hi - $lo) . ' ms)')
    or diag("offsets from the grid: @off");
my ($after) = grep { $_ > $killed_at } @$ticks;
my ($before) = reverse grep { $_ < $killed_at } @$ticks;
ok($after && $before && $after - $before >= $W - 200, 'no early tick after the kill (' . (($after // 0) - ($before // 0)) . ' ms after the killed one)');

$inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 3);
done_testing();
