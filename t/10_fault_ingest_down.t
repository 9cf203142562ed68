# Fault scenario 1 (issue 4): SQS unreachable during ingest. The SQS fault
# proxy refuses connections for a while, then lets them through again; a
# bounded load posts across both transitions. While SQS is down ingest
# answers 503 with Retry-After, never 202; afterwards it answers 202 again
# with no httpd restart; what was accepted is delivered, within the quota.
# Own httpd (t/lib/Faults/Httpd.pm), doser N=5 M=5 window=1s visibility=3s.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue run_load load_accepted);

my ($N, $M, $W, $VIS) = (5, 5, 1000, 3);
my $tag = tag_for('f10');
my $Q = make_queue('f10');
fault_reset();
my $h = Faults::Httpd->new(name => 'f10',
    dosers => ["in queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=1s visibility=${VIS}s payload=records"],
    locations => { '/in' => 'in' },
    server => "DosificadorTimeout 2s\nDosificadorRetryAfter 7\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'SQS down during ingest');
$h->start;
my $ppid = $h->pid;
my $n = 0;
sub objs { [ map { { tag => $tag, i => $n++ } } 1 .. $_[0] ] }
sub post_objs {
    my ($k) = @_;
    my $o = objs($k);
    my $r = $h->post('/in', jenc($o));
    $inv->accept($r, $o);
    return $r;
}

is(post_objs(3)->{status}, 202, 'SQS reachable: 202');

# A load across the outage: two workers, 2 objects every 150 ms, for 6 s.
my @load = run_load(url => $h->url('/in'), dir => $h->dir, tag => $tag, workers => 2, per => 2,
                    every_ms => 150, seconds => 6);
Time::HiRes::sleep(1.5);

my $down_at = now_ms();
fault(sqs => { mode => 'refuse' });
my @down;
my $t_end = Time::HiRes::time() + 3;
while (Time::HiRes::time() < $t_end) {
    for my $k (1, 12) {        # one object, and more than one SendMessageBatch
        my $t0 = Time::HiRes::time();
        my $r = post_objs($k);
        push @down, [$r, Time::HiRes::time() - $t0];
    }
    Time::HiRes::sleep(0.2);
}
fault(sqs => { mode => 'pass' });
my $up_at = now_ms();

ok(@down >= 6, scalar(@down) . ' posts while SQS refused connections');
my @not503 = grep { $_->[0]{status} != 503 } @down;
ok(!@not503, 'every one answered 503') or diag(join ', ', map { $_->[0]{status} } @not503);
ok(!(grep { $_->[0]{status} == 202 || $_->[0]{status} == 207 } @down), 'never 202 (nor 207) while SQS is down');
ok(!(grep { ($_->[0]{headers}{'retry-after'} // '') ne '7' } @down), 'each with Retry-After: 7 (DosificadorRetryAfter)');
my @bodies = map { eval { jdec($_->[0]{content}) } } @down;
ok(@bodies == @down && !(grep { !defined $_->{error} || ($_->{accepted} // -1) != 0 } @bodies),
   'each says so in JSON: {"error": ..., "accepted": 0}');
my ($slowest) = sort { $b <=> $a } map { $_->[1] } @down;
ok($slowest < 2.5, sprintf('a refused connection is answered at once (slowest %.2f s)', $slowest));

my $r = post_objs(4);
is($r->{status}, 202, 'SQS reachable again: 202') or diag($r->{content});
is($h->pid, $ppid, 'without an httpd restart (same parent)');
ok(Faults::Httpd::alive($ppid), 'the parent still runs');
is($h->starts, 1, 'no restart in the error log');

my $load = load_accepted($h->dir, @load);
my %st = %{ $load->{statuses} };
diag('load statuses: ' . join(', ', map { "$_ x$st{$_}" } sort keys %st));
is($load->{failed_workers}, 0, 'the load generator ran to its end');
ok(!(grep { $_ != 202 && $_ != 503 } keys %st), 'the load saw only 202 and 503 (no other 5xx, no dropped connection)');
ok($st{503}, 'the load met the outage (503)');
my @late = grep { $_->{status} != 202 && $_->{t} > $up_at + 500 } @{ $load->{requests} };
ok(!@late, 'after the outage every request of the load is accepted');
my @early503 = grep { $_->{status} != 202 && $_->{t} + $_->{ms} < $down_at - 100 } @{ $load->{requests} };
ok(!@early503, 'before the outage every request of the load is accepted');
$inv->accept_keys($load->{accepted});

ok($inv->wait_delivered(2 * $inv->accepted_count / ($N * $M) + 2 * $VIS + 4), 'all accepted objects delivered');
$inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 3);
done_testing();
