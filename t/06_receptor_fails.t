# A receptor that fails: doser "fail" (perMinute=2 perInvocation=2 window=2s
# visibility=3s, lambda=receptor-fail); the Lambda fault proxy answers 500 for
# one tick, then 429 for one tick, then lets calls through. Messages of a
# failed invocation are not deleted, come back after the visibility timeout
# and are delivered later; the quota holds in every window, failed attempts
# included. Then a poison object (the receptor fails for good) ends in the
# queue's dead-letter queue by the redrive policy (maxReceiveCount 3).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use Dsf::T;

my ($N, $M, $W, $VIS) = (2, 2, 2000, 3000);
my $since = now_ms();
my $tag = tag_for('fail');
my ($Q, $DLQ) = @ENV{qw(DSF_Q_FAIL DSF_Q_FAIL_DLQ)};
fault_reset();
sqs_drain($DLQ);

sub invokes { [ grep { $_->{t} >= $_[0] } @{ invocations_of('receptor-fail', $since) } ] }
sub mine {
    my %seen;
    for my $rec (@{ receptor(fn => 'receptor-fail', since => $since) }) {
        $seen{ object_key($_) }++ for grep { ref $_ eq 'HASH' && ($_->{tag} // '') eq $tag } receptor_objects($rec);
    }
    return \%seen;
}

fault(lambda => { mode => 'status', status => 500, match => 'receptor-fail' });
my @objs = map { { tag => $tag, i => $_ } } 0 .. 3;
is(post('/fail', jenc(\@objs))->code, 202, '4 objects accepted');

my $t500 = wait_until(3 * $W / 1000 + 1, sub {
    my ($e) = grep { ($_->{status} // 0) == 500 } @{ invokes($since) };
    $e && $e->{t};
});
ok($t500, 'the receptor was invoked and answered 500');
is(sqs_count($Q), 4, 'after the 500s all 4 messages are still in the queue (not deleted)');

fault(lambda => { mode => 'status', status => 429, match => 'receptor-fail' });
my $t429 = wait_until($VIS / 1000 + $W / 1000 + 2, sub {
    my ($e) = grep { ($_->{status} // 0) == 429 } @{ invokes(($t500 // $since) + 1) };
    $e && $e->{t};
});
ok($t429, 'they came back and the receptor, invoked again, answered 429');
ok($t429 && $t500 && $t429 - $t500 >= $VIS - 100,
   'not before the visibility timeout (' . (($t429 // 0) - ($t500 // 0)) . ' ms after the 500)');
is(sqs_count($Q), 4, 'after the 429s all 4 messages are still in the queue');
is(scalar(keys %{ mine() }), 0, 'the receptor got nothing while failing');

fault(lambda => { mode => 'pass' });
my $pass_at = now_ms();
my $got = wait_until($VIS / 1000 + $W / 1000 + 3, sub { my $m = mine(); keys(%$m) >= 4 ? $m : undef });
ok($got, 'all 4 objects delivered once the receptor works again')
    or diag('delivered: ' . join(', ', keys %{ mine() }));
my ($ok1) = grep { ($_->{status} // 0) == 202 } @{ invokes($pass_at) };
ok($ok1 && $t429 && $ok1->{t} - $t429 >= $VIS - 100, 'again only after the visibility timeout');
my $dups = grep { $_ > 1 } values %{ mine() };
diag("duplicates delivered: $dups") if $dups;

# No DeleteMessageBatch while the receptor failed.
my @early_del = grep { ($_->{queue} // '') eq $Q && $_->{action} eq 'DeleteMessageBatch' && $_->{t} < $pass_at }
    @{ fault_log(sqs => $since) };
is(scalar @early_del, 0, 'nothing was deleted while invocations failed');
is(wait_until(3, sub { sqs_count($Q) == 0 ? 1 : undef }), 1, 'once delivered, deleted: the queue is empty');

# A poison object: the receptor fails every time. After its third receive the
# queue's redrive policy moves it to the dead-letter queue; never delivered,
# never deleted by the module.
my $poison_since = now_ms();
fault(lambda => { mode => 'status', status => 500, match => 'receptor-fail' });
my $poison = { tag => $tag, i => 'poison' };
is(post('/fail', jenc($poison))->code, 202, 'poison object accepted');
my $in_dlq = wait_until(4 * ($VIS + $W) / 1000 + 3, sub { sqs_count($DLQ) >= 1 ? 1 : undef }, 500);
fault(lambda => { mode => 'pass' });
ok($in_dlq, 'the poison object went to the dead-letter queue');
my $dl = sqs_drain($DLQ);
is(scalar @$dl, 1, 'exactly one message in the dead-letter queue');
is_deeply(eval { jdec_chars($dl->[0]{Body}) }, $poison, 'it is the poison object');
is(sqs_count($Q), 0, 'and the queue is empty');
ok(!mine()->{ object_key($poison) }, 'the receptor never got it');
my @tries = grep { $_->{t} >= $poison_since } @{ invokes($poison_since) };
is(scalar @tries, 3, 'it was tried three times (maxReceiveCount 3), each a failed invocation')
    or diag(jenc([ map { [$_->{t}, $_->{status}] } @tries ]));

check_dose(fn => 'receptor-fail', queue => $Q, since => $since, N => $N, M => $M, window_ms => $W,
           what => 'failing receptor', min_ticks => 8);
assert_signed($since, 'failing receptor');
done_testing();
