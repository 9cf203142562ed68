# Ingest: an object, an array, NDJSON; what the module stored is read back
# with the official AWS SDK (@aws-sdk/client-sqs) as a real client.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use Dsf::T;

my $since = now_ms();
my $tag = tag_for('ingest');
my $Q = $ENV{DSF_Q_HOLD};
fault_reset();
sqs_drain($Q);

my %posted;     # messageId => the object it must hold

sub accepted_ok {
    my ($res, $objs, $what) = @_;
    is($res->code, 202, "$what: 202 Accepted")
        or diag($res->as_string);
    like($res->header('Content-Type') // '', qr{^application/json}, "$what: JSON answer");
    my $j = decode_or_fail($res) or return;
    is($j->{accepted}, scalar @$objs, "$what: accepted is " . scalar @$objs);
    is(ref $j->{messageIds}, 'ARRAY', "$what: messageIds is an array") or return;
    is(scalar @{ $j->{messageIds} }, scalar @$objs, "$what: one messageId per object");
    my %seen;
    ok(!(grep { !defined $_ || !length $_ || $seen{$_}++ } @{ $j->{messageIds} }), "$what: messageIds are distinct");
    @posted{ @{ $j->{messageIds} } } = @$objs;
}

# One object.
my $one = { tag => $tag, i => 0, kind => 'single', nested => { a => [1, 2, { b => JSON::PP::true }] } };
accepted_ok(post('/envio', jenc($one)), [$one], 'single object');

# An array: one message per element, messageIds in element order. Pretty
# printed on purpose: messages must be the compact JSON of each element.
my @arr = map { { tag => $tag, i => $_, kind => 'array', text => "el\x{e9}ment $_ \"q\"" } } 1 .. 3;
my $pretty = JSON::PP->new->utf8->pretty->canonical->encode(\@arr);
accepted_ok(post('/envio', $pretty, 'Content-Type' => 'application/json; charset=utf-8'), \@arr, 'array');

# NDJSON: one message per line, blank lines ignored.
my @nd = map { { tag => $tag, i => $_, kind => 'ndjson' } } 4 .. 6;
my $ndjson = join("\n", jenc($nd[0]), jenc($nd[1]), '', jenc($nd[2])) . "\n";
accepted_ok(post('/envio', $ndjson, 'Content-Type' => 'application/x-ndjson'), \@nd, 'NDJSON');

# More than one SendMessageBatch's worth (10 entries per call).
my @many = map { { tag => $tag, i => $_, kind => 'many' } } 7 .. 31;
accepted_ok(post('/envio', jenc(\@many)), \@many, '25-element array');

# A scalar and a string are JSON values too: each is one message.
my @scalars = ("plain string", 42);
accepted_ok(post('/envio', jenc(\@scalars)), \@scalars, 'array of non-objects');

# What SQS holds, read with the AWS SDK.
# (drain: receive everything, then delete it, so the next test starts empty)
my $msgs = sqs_drain($Q);
my %got = map { $_->{MessageId} => $_ } @$msgs;
is(scalar(keys %got), scalar(keys %posted), 'the queue holds exactly the accepted objects')
    or diag('queue has ' . scalar(keys %got) . ', accepted ' . scalar(keys %posted));
my (@wrong_body, @not_compact, @bad_md5, @missing);
for my $id (sort keys %posted) {
    my $m = $got{$id} or do { push @missing, $id; next };
    my $decoded = eval { jdec_chars($m->{Body}) };
    push @wrong_body, "$id: $m->{Body}" unless defined $decoded && jenc($decoded) eq jenc($posted{$id});
    push @not_compact, $m->{Body} unless is_compact($m->{Body});
    push @bad_md5, $id unless $m->{MD5OfBody} eq md5_hex($m->{Body});
}
ok(!@missing, 'every messageId the module returned is in the queue') or diag("missing: @missing");
ok(!@wrong_body, 'each message body is its object, element by element in order') or diag(join "\n", @wrong_body);
ok(!@not_compact, 'each message body is compact JSON') or diag(join "\n", @not_compact);
ok(!@bad_md5, 'SQS MD5s match the bodies');

# Calls to SQS: SendMessageBatch only, at most 10 entries each.
my @sends = grep { ($_->{queue} // '') eq $Q && $_->{action} =~ /^SendMessage/ } @{ fault_log(sqs => $since) };
ok(@sends >= 5, 'ingest called SQS (' . scalar(@sends) . ' calls)');
ok(!(grep { $_->{action} ne 'SendMessageBatch' } @sends), 'ingest uses SendMessageBatch');
ok(!(grep { ($_->{entries} // 0) > 10 || ($_->{entries} // 0) < 1 } @sends), 'at most 10 entries per SendMessageBatch');
my $entries = 0;
$entries += $_->{entries} for @sends;
is($entries, scalar(keys %posted), 'one SQS entry per accepted object, none sent twice');

sqs_drain($Q);
assert_signed($since, 'ingest');
done_testing();
