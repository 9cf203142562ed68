# Fault scenario 7 (issue 4): a backlog of 10,000 objects drains at exactly
# N x M per window. Phase 1: an httpd whose doser ticks once an hour takes
# the 10,000 objects (10 POSTs of 1,000, payload=array). Phase 2: an httpd
# with N=25 M=20 window=1s on the same queue: 20 ticks of 25 invocations of
# 20 objects, one tick per window, no slot skipped, the queue empty after.
# (N=50 M=10 works too, but its ticks took 130-770 ms here, once 1.3 s on a
# cold receptor: too close to the 1 s window on two cores. N=25 M=20: 110-390 ms.)
# The dispatcher is a process of its own, the same under every MPM, and this
# scenario is the suite's longest (about 30 s): it runs under the event MPM
# only.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for);

my $mpm = $ENV{DSF_MPM} || 'event';
if ($mpm ne 'event') {
    plan skip_all => "the backlog scenario runs under the event MPM only (the dispatcher does not depend on the MPM)";
}
my ($N, $M, $W, $VIS, $TOTAL) = (25, 20, 1000, 30, 10_000);
my $tag = tag_for('f16');
my $Q = make_queue('f16');
fault_reset();
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'backlog of 10,000');

my $ing = Faults::Httpd->new(name => 'f16-ingest',
    dosers => ["backlog queue=$Q lambda=receptor-run window=3600s"], locations => { '/backlog' => 'backlog' });
$ing->start;
my $t0 = Time::HiRes::time();
my $bad = 0;
for my $k (0 .. $TOTAL / 1000 - 1) {
    my @objs = map { { tag => $tag, i => $k * 1000 + $_ } } 0 .. 999;
    my $r = $ing->post('/backlog', jenc(\@objs));
    $bad++ if $r->{status} != 202;
    $inv->accept($r, \@objs);
}
my $ingest_s = Time::HiRes::time() - $t0;
is($bad, 0, sprintf('10 POSTs of 1,000 objects: all 202 (%.1f s)', $ingest_s));
is($inv->accepted_count, $TOTAL, '10,000 objects accepted');
$ing->stop;
is(sqs_count($Q), $TOTAL, '10,000 messages wait in the queue');

my $h = Faults::Httpd->new(name => 'f16-dose',
    dosers => ["backlog queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=1s visibility=${VIS}s"],
    locations => { '/backlog' => 'backlog' }, server => "DosificadorTimeout 5s\n");
$inv->{since} = now_ms();
$h->start;
my $ok = $inv->wait_delivered(2 * $TOTAL / ($N * $M) + 15, 2);
ok($ok, 'all 10,000 delivered') or diag(scalar($inv->missing) . ' missing');

my $q = $inv->check_quota(min_ticks => $TOTAL / ($N * $M));
# The drain, tick by tick (ticks that invoked).
my @work = grep { $_->[1] } @{ $q->{per_tick} };
my @doses = map { $_->[2] } @work;
my $full = $N * $M;
is(scalar @work, $TOTAL / $full, 'drained in exactly 10,000 / (N x M) = ' . ($TOTAL / $full) . ' ticks')
    or diag("objects per tick: @doses");
ok(!(grep { $_ != $full } @doses), "every tick carried exactly N x M = $full objects")
    or diag("objects per tick: @doses");
ok(!(grep { $_->[1] != $N } @work), "in exactly N = $N invocations")
    or diag('invocations per tick: ' . join ' ', map { $_->[1] } @work);
my @gaps = map { $work[$_][0] - $work[$_ - 1][0] } 1 .. $#work;
ok(!(grep { $_ > 1.5 * $W } @gaps), 'one tick per window, no window skipped') or diag("gaps (ms): @gaps");
my $span = @work ? $work[-1][0] - $work[0][0] : 0;
diag(sprintf 'drain: %d ticks over %.1f s; ingest %.1f s', scalar @work, $span / 1000, $ingest_s);
my @dur = map { /in (\d+) ms/ ? $1 : () } grep { /DSF00305: doser backlog: tick received [1-9]/ } $h->errlog;
my ($longest) = sort { $b <=> $a } @dur;
diag('tick durations (ms): ' . join(' ', @dur)) if @dur;
ok(defined $longest && $longest < $W, "each tick finished within its window (longest " . ($longest // '?') . ' ms)');

my $dl = $inv->check_delivery;
$h->stop;
$inv->check_queue_end(visibility_s => 0, expect_empty => 1);
done_testing();
