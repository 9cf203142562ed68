# payload=records, receptor named by its full ARN (the ARN is in the Invoke
# path, so this also proves ARN paths are signed right): the receptor gets an
# SQS event, {"Records":[{messageId, receiptHandle, body, attributes, ...}]},
# so a receptor written for SQS triggers works unchanged.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use Dsf::T;

my ($N, $M, $W) = (2, 3, 2000);
my $since = now_ms();
my $tag = tag_for('records');
my $Q = $ENV{DSF_Q_RECORDS};
fault_reset();

my @objs = map { { tag => $tag, i => $_, data => { list => [1, 2, 3], s => "x y" } } } 0 .. 3;
my $r = post('/records', jenc(\@objs));
is($r->code, 202, '4 objects accepted') or diag($r->as_string);
my $ids = (decode_or_fail($r) || {})->{messageIds} || [];
my %id_of = map { object_key($objs[$_]) => $ids->[$_] } 0 .. $#objs;

my $recs = wait_until(3 * $W / 1000 + 2, sub {
    my $rs = receptor(fn => 'receptor-arn', since => $since);
    my $n = 0;
    $n += scalar(receptor_objects($_)) for @$rs;
    $n >= 4 ? $rs : undef;
});
ok($recs, 'the ARN-named receptor got all 4 objects') or BAIL_OUT('nothing delivered');

my (@shape, @bodies, @ids, @arns);
for my $rec (@$recs) {
    my $ev = $rec->{event};
    ok(ref $ev eq 'HASH' && ref $ev->{Records} eq 'ARRAY' && keys(%$ev) == 1, 'event is {"Records":[...]}')
        or diag(jenc($ev));
    for my $x (@{ $ev->{Records} || [] }) {
        for my $k (qw(messageId receiptHandle body attributes md5OfBody eventSource eventSourceARN awsRegion)) {
            push @shape, "missing $k" unless defined $x->{$k};
        }
        push @shape, "eventSource $x->{eventSource}" unless ($x->{eventSource} // '') eq 'aws:sqs';
        push @arns, $x->{eventSourceARN} // '';
        push @shape, "awsRegion $x->{awsRegion}" unless ($x->{awsRegion} // '') eq 'us-east-1';
        push @shape, 'attributes.ApproximateReceiveCount'
            unless ref $x->{attributes} eq 'HASH' && defined $x->{attributes}{ApproximateReceiveCount};
        push @shape, 'md5OfBody' unless ($x->{md5OfBody} // '') eq md5_hex($x->{body} // '');
        my $o = eval { jdec_chars($x->{body}) };
        push @bodies, $x->{body} unless ref $o eq 'HASH' && is_compact($x->{body});
        push @ids, $x->{messageId} if ref $o eq 'HASH' && ($id_of{ object_key($o) } // '') ne $x->{messageId};
    }
}
ok(!@shape, 'each record has the SQS event fields') or diag(join "\n", @shape);
is_deeply([sort { $a cmp $b } keys %{ { map { $_ => 1 } @arns } }], ['arn:aws:sqs:us-east-1:000000000000:records'],
          "eventSourceARN is the queue's ARN");
ok(!@bodies, "each body is the object's compact JSON, as a string") or diag(join "\n", @bodies);
ok(!@ids, 'each messageId is the one ingest returned for that object') or diag("@ids");

my $per = check_dose(fn => 'receptor-arn', queue => $Q, since => $since, N => $N, M => $M, window_ms => $W,
                     what => 'records');
my ($first) = grep { $_->{objects} } @$per;
is_deeply([sort { $b <=> $a } map { scalar(receptor_objects($_)) } @{ $first->{records} }], [3, 1],
          'one tick: invocations of 3 and 1 (M=3)');
is(wait_until(3, sub { sqs_count($Q) == 0 ? 1 : undef }), 1, 'the queue is empty afterwards');

assert_signed($since, 'records');
done_testing();
