# The enqueue location composes with httpd's own access control: /secure
# needs Basic auth; an unauthenticated POST gets 401 and enqueues nothing.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use MIME::Base64 qw(encode_base64);
use lib 't/lib';
use Dsf::T;

my $since = now_ms();
my $tag = tag_for('auth');
my $Q = $ENV{DSF_Q_HOLD};
fault_reset();
sqs_drain($Q);

my $r = post('/secure', jenc({ tag => $tag, i => 0 }));
is($r->code, 401, 'no credentials: 401');
$r = post('/secure', jenc({ tag => $tag, i => 1 }), Authorization => 'Basic ' . encode_base64('upstream:wrong', ''));
is($r->code, 401, 'wrong password: 401');
is(scalar(grep { $_->{action} =~ /^SendMessage/ } @{ fault_log(sqs => $since) }), 0, 'nothing sent to SQS');
is(sqs_count($Q), 0, 'nothing enqueued');

$r = post('/secure', jenc({ tag => $tag, i => 2 }), Authorization => 'Basic ' . encode_base64('upstream:s3cret-upstream', ''));
is($r->code, 202, 'with credentials: 202');
my $m = sqs_drain($Q);
is(scalar @$m, 1, 'one message enqueued');
is_deeply(eval { jdec_chars($m->[0]{Body}) }, { tag => $tag, i => 2 }, 'the authenticated one');

assert_signed($since, 'auth');
done_testing();
