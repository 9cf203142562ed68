# Fault scenario 2 (issue 4): SQS unreachable during a tick, between the
# receive and the delete. The Lambda fault proxy holds the tick's two
# invocations for 1.5 s (then lets them through: the receptor gets them);
# meanwhile the SQS fault proxy starts refusing connections, so the tick's
# DeleteMessageBatch fails, and so do the next ticks' receives. Then SQS is
# back. Nothing is lost: what the receptor got but the module could not
# delete comes back after the visibility timeout and is delivered again
# (at least once: the duplicates are exactly those), then deleted.
# Own httpd, doser N=2 M=3 window=2s visibility=4s, DosificadorTimeout 3s.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for);

my ($N, $M, $W, $VIS) = (2, 3, 2000, 4);
my $tag = tag_for('f11');
my $Q = make_queue('f11');
fault_reset();
my $h = Faults::Httpd->new(name => 'f11',
    dosers => ["tick queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=2s visibility=${VIS}s payload=records"],
    locations => { '/tick' => 'tick' },
    server => "DosificadorTimeout 3s\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'SQS down during a tick');
$h->start;

# The tick's invocations are held at the Lambda proxy (count: only those two).
fault(lambda => { mode => 'delay', ms => 1500, match => 'receptor-run', count => $N });
my @objs = map { { tag => $tag, i => $_ } } 0 .. $N * $M - 1;
my $r = $h->post('/tick', jenc(\@objs));
$inv->accept($r, \@objs);
is($r->{status}, 202, 'one dose (6 objects) accepted');

my $held = wait_for(2 * $W / 1000 + 2, sub {
    my @d = grep { ($_->{outcome} // '') eq 'delay' } @{ $inv->invokes };
    @d >= $N ? \@d : undef
}, 0.02);
ok($held, 'the tick received the dose and invoked the receptor (held 1.5 s at the proxy)');
fault(sqs => { mode => 'refuse' });
my $down_at = now_ms();

# The invocations go through: the receptor gets all six.
ok(wait_for(5, sub { keys(%{ $inv->delivered }) >= @objs }), 'the receptor got the dose while SQS was down');
# The delete fails; the module says they will come again.
ok(wait_for(6, sub { grep { /DSF00304: doser tick: 6 delivered message\(s\) could not be deleted/ } $h->errlog }),
   'DSF00304: the 6 delivered messages could not be deleted (logged)')
    or diag(join '', grep { /DSF003/ } $h->errlog);
my $r503 = $h->post('/tick', jenc([{ tag => $tag, i => 'down' }]));
is($r503->{status}, 503, 'ingest meanwhile: 503');
$inv->accept($r503, [{ tag => $tag, i => 'down' }]);

# Two more windows down: those ticks' receives fail (DSF00301).
Time::HiRes::sleep(2 * $W / 1000 + 0.3);
ok(scalar(grep { /DSF00301: doser tick:/ } $h->errlog), 'DSF00301: a tick while SQS is down fails to receive (logged)');
fault(sqs => { mode => 'pass' });
my $up_at = now_ms();
ok(Faults::Httpd::alive($h->pid), 'httpd still runs');

# After the visibility timeout the six come back and are delivered again.
ok(wait_for($VIS + 3 * $W / 1000 + 3, sub {
    my $d = $inv->delivered;
    !(grep { ($d->{ object_key($_) } // 0) < 2 } @objs)
}), 'the undeleted six were delivered again once SQS was back (at least once)')
    or diag(jenc($inv->delivered));
my @again = grep { ($_->{receivedAt} // 0) > $up_at } @{ $inv->records };
my ($first_again) = sort { $a <=> $b } map { $_->{receivedAt} } @again;
ok($first_again && $first_again - $held->[0]{t} >= $VIS * 1000 - 300,
   'not before the visibility timeout (' . (($first_again // 0) - $held->[0]{t}) . ' ms after the first receive)');

my $res = $inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 2);
is(scalar @{ $res->{dups} }, scalar @objs, 'duplicates: exactly the six whose delete failed');
done_testing();
