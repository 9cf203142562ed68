# When SQS fails during ingest: 502 for an AWS error, 503 + Retry-After when
# it is unreachable, throttling or hung (DosificadorTimeout 2s), 207 with
# per-element results when some entries fail; never 202 for an object SQS
# did not confirm. Ingest recovers without an httpd restart.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;

my $since = now_ms();
my $tag = tag_for('sqsfaults');
my $Q = $ENV{DSF_Q_FAULTS};
fault_reset();
sqs_drain($Q);
my $n = 0;
sub objs { map { { tag => $tag, i => $n++ } } 1 .. $_[0] }

sub error_ok {
    my ($res, $status, $what) = @_;
    is($res->code, $status, "$what: $status") or diag($res->as_string);
    my $j = decode_or_fail($res);
    ok($j && defined $j->{error} && length $j->{error}, "$what: {\"error\": ...}");
    return $j;
}

sub retry_after_ok {
    my ($res, $what) = @_;
    my $ra = $res->header('Retry-After');
    ok(defined $ra && $ra =~ /^\s*\d+\s*$/ && $ra >= 1, "$what: Retry-After in seconds")
        or diag('Retry-After: ' . ($ra // 'absent'));
}

# 502: SQS answers with an error (the queue does not exist).
my $r = post('/ghost', jenc([objs(2)]));
error_ok($r, 502, 'queue that does not exist');

# 503: SQS unreachable (the proxy in front of it refuses connections).
fault(sqs => { mode => 'refuse' });
my $t0 = Time::HiRes::time();
$r = post('/faults', jenc([objs(3)]));
error_ok($r, 503, 'SQS refuses connections');
retry_after_ok($r, 'SQS refuses connections');
$r = post('/faults', jenc({ tag => $tag, i => $n++ }));
is($r->code, 503, 'still unreachable: 503 again');
fault(sqs => { mode => 'pass' });
$r = post('/faults', jenc([objs(2)]));
is($r->code, 202, 'SQS reachable again: 202 with no httpd restart') or diag($r->as_string);

# 503: SQS throttles (429 ThrottlingException) every SendMessageBatch.
fault(sqs => { mode => 'status', status => 429, match => 'SendMessageBatch' });
$r = post('/faults', jenc([objs(2)]));
error_ok($r, 503, 'SQS throttles');
retry_after_ok($r, 'SQS throttles');
fault(sqs => { mode => 'pass' });

# 503 within the configured timeout when SQS accepts and never answers; the
# server keeps serving other locations meanwhile.
fault(sqs => { mode => 'hang', match => 'SendMessageBatch' });
my $pid = fork // die "fork: $!";
if (!$pid) {
    Time::HiRes::sleep(0.5);
    my $t = Time::HiRes::time();
    my $res = get_req(GET => '/index.html');
    exit($res->code == 200 && Time::HiRes::time() - $t < 1 ? 0 : 1);
}
$t0 = Time::HiRes::time();
$r = post('/faults', jenc([objs(2)]));
my $took = Time::HiRes::time() - $t0;
error_ok($r, 503, 'SQS hangs');
retry_after_ok($r, 'SQS hangs');
ok($took >= 1.5 && $took < 5, sprintf('answered after the 2 s DosificadorTimeout, not much later (%.1f s)', $took));
waitpid($pid, 0);
is($?, 0, 'another location answered at once while ingest waited on SQS');
fault(sqs => { mode => 'pass' });
$r = post('/faults', jenc([objs(1)]));
is($r->code, 202, 'after the hang: 202');

# 207: SQS reports some entries failed. Every 2nd entry of each batch fails,
# retryable (SenderFault false).
my @part = objs(5);
fault(sqs => { mode => 'partial', every => 2, code => 'InternalError', senderFault => JSON::PP::false });
$r = post('/faults', jenc(\@part));
fault(sqs => { mode => 'pass' });
is($r->code, 207, 'some entries failed: 207') or diag($r->as_string);
my $j = decode_or_fail($r) || {};
is($j->{accepted}, 3, '207: accepted 3');
is($j->{failed}, 2, '207: failed 2');
my @res = @{ $j->{results} || [] };
is(scalar @res, 5, '207: one result per element');
is_deeply([map { $_->{index} } @res], [0 .. 4], '207: results in element order with their index');
is_deeply([map { $_->{status} } @res], [qw(accepted failed accepted failed accepted)], '207: which failed');
ok(!(grep { $_->{status} eq 'accepted' && !(defined $_->{messageId} && length $_->{messageId}) } @res),
   '207: accepted entries carry their messageId');
ok(!(grep { $_->{status} eq 'failed' && !(defined $_->{code} && defined $_->{message}) } @res),
   '207: failed entries carry code and message');
ok(!(grep { $_->{status} eq 'failed' && !JSON::PP::is_bool($_->{retryable}) } @res), '207: retryable is a boolean');
ok(!(grep { $_->{status} eq 'failed' && !$_->{retryable} } @res), '207: an InternalError is retryable');
is(($res[1] || {})->{code}, 'InternalError', "207: SQS's error code is passed on");

# Sender faults are not retryable.
fault(sqs => { mode => 'partial', every => 3, code => 'InvalidMessageContents', senderFault => JSON::PP::true });
$r = post('/faults', jenc([objs(3)]));
fault(sqs => { mode => 'pass' });
is($r->code, 207, 'a sender fault on one entry: 207');
$j = decode_or_fail($r) || {};
my ($f) = grep { $_->{status} eq 'failed' } @{ $j->{results} || [] };
ok($f && JSON::PP::is_bool($f->{retryable}) && !$f->{retryable}, '207: a sender fault is not retryable');

# SQS's MD5 of a body does not match what was sent: that entry is not accepted.
fault(sqs => { mode => 'badmd5', every => 2 });
$r = post('/faults', jenc([objs(2)]));
fault(sqs => { mode => 'pass' });
is($r->code, 207, 'a wrong MD5 from SQS on one entry: 207, never 202') or diag($r->as_string);
$j = decode_or_fail($r) || {};
is_deeply([map { $_->{status} } @{ $j->{results} || [] }], [qw(accepted failed)], 'wrong MD5: that entry failed');

assert_signed($since, 'SQS faults');
sqs_drain($Q);
done_testing();
