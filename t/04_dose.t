# Dosing over several ticks: doser "dose" has perMinute=3 perInvocation=2
# window=2s. A backlog of 15 drains at exactly 6 per tick (6, 6, 3), never more
# than 3 invocations per window nor 2 objects per invocation; a single object
# posted later is delivered at the next tick, alone (never held back to fill
# a batch); everything delivered is deleted from the queue.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use Dsf::T;

my ($N, $M, $W) = (3, 2, 2000);
my $since = now_ms();
my $tag = tag_for('dose');
my $Q = $ENV{DSF_Q_DOSE};
fault_reset();

my @objs = map { { tag => $tag, i => $_ } } 0 .. 14;
my $r = post('/dose', jenc(\@objs));
is($r->code, 202, 'backlog of 15 accepted') or diag($r->as_string);
my $posted_at = now_ms();

sub got { delivered(fn => 'receptor', tag => $tag, since => $since) }

# 15 objects at 6 a tick: three ticks, each within 1 s of its slot.
my $all = wait_until(4 * $W / 1000 + 3, sub { my $d = got(); keys(%$d) >= 15 ? $d : undef });
ok($all, 'all 15 objects delivered within four windows')
    or diag('delivered: ' . scalar(keys %{ got() }));
my $done_at = now_ms();

# A quiet tick, then one more object: delivered alone at the next tick.
sleep_ms($W + 200);
my $one = { tag => $tag, i => 15 };
my $posted1 = now_ms();
is(post('/dose', jenc($one))->code, 202, 'one more object accepted');
my $got1 = wait_until($W / 1000 + 2.5, sub { got()->{ object_key($one) } });
ok($got1, 'the single object is delivered at the next tick, not held back to fill a batch');
sleep_ms(300);

my $per = check_dose(fn => 'receptor', queue => $Q, since => $since, N => $N, M => $M, window_ms => $W,
                     what => 'dose', min_ticks => 4);

# The backlog drained at exactly N*M per tick while it lasted: 6, 6, 3.
my @doses = map { $_->{objects} } grep { $_->{start} < $done_at + 100 && $_->{objects} } @$per;
is_deeply(\@doses, [6, 6, 3], 'the backlog drains at N*M=6 per tick: 6, 6, 3')
    or diag("objects per tick: @doses");
my @inv = map { scalar @{ $_->{records} } } grep { $_->{start} < $done_at + 100 && $_->{objects} } @$per;
is_deeply(\@inv, [3, 3, 2], 'in 3, 3 and 2 invocations');
my @sizes = map { [ map { scalar(receptor_objects($_)) } sort { $a->{receivedAt} <=> $b->{receivedAt} } @{ $_->{records} } ] }
    grep { $_->{objects} } @$per;
ok(!(grep { grep { $_ < 1 } @$_ } @sizes), 'no empty invocation');
my ($last) = grep { $_->{objects} && $_->{start} > $posted1 } @$per;
ok($last && $last->{objects} == 1 && @{ $last->{records} } == 1, 'the later object went alone in one invocation');

my $d = got();
is(scalar(keys %$d), 16, 'all 16 objects delivered');
ok(!(grep { $_ > 1 } values %$d), 'each exactly once (nothing failed, so no redelivery)')
    or diag(join ', ', grep { $d->{$_} > 1 } keys %$d);

# Idle ticks invoke nothing.
my @empty_inv = grep { !$_->{objects} && @{ $_->{invokes} } } @$per;
ok(!@empty_inv, 'a tick with nothing to deliver invokes nothing');

# Every delivered message was deleted.
is(wait_until(3, sub { sqs_count($Q) == 0 ? 1 : undef }), 1, 'the queue is empty: delivered messages were deleted');
my @del = grep { ($_->{queue} // '') eq $Q && $_->{action} eq 'DeleteMessageBatch' } @{ fault_log(sqs => $since) };
my $deleted = 0;
$deleted += $_->{entries} // 0 for @del;
is($deleted, 16, 'DeleteMessageBatch for exactly the 16 delivered messages');
ok(!(grep { ($_->{entries} // 0) > 10 } @del), 'at most 10 per DeleteMessageBatch');

assert_signed($since, 'dose');
done_testing();
