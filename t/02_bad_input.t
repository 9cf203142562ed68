# Bad input: a clear JSON error with the right status, and nothing enqueued.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use lib 't/lib';
use Dsf::T;

my $since = now_ms();
my $tag = tag_for('bad');
my $Q = $ENV{DSF_Q_HOLD};
fault_reset();
sqs_drain($Q);

sub error_ok {
    my ($res, $status, $what, $like) = @_;
    is($res->code, $status, "$what: $status") or diag($res->as_string);
    like($res->header('Content-Type') // '', qr{^application/json}, "$what: JSON answer");
    my $j = decode_or_fail($res) or return;
    ok(defined $j->{error} && !ref $j->{error} && length $j->{error} > 5, "$what: {\"error\": sentence}")
        or diag($res->content);
    like($j->{error} // '', $like, "$what: the error says why") if $like;
    ok(!exists $j->{accepted} || !$j->{accepted}, "$what: nothing accepted");
}

# Malformed JSON: the error names the line and the column.
my $bad = qq({\n  "tag": "$tag",\n  "b": ]\n}\n);
error_ok(post('/envio', $bad), 400, 'malformed JSON', qr/line\D{0,3}3\b.*column\D{0,3}\d+|column\D{0,3}\d+.*line\D{0,3}3\b/is);
error_ok(post('/envio', qq([{"tag":"$tag","i":1}, {"tag":"$tag","i":2)), 400, 'truncated array', qr/line\D{0,3}1\b/i);
error_ok(post('/envio', qq({"tag":"$tag"} {"again":1})), 400, 'two JSON texts in application/json');
error_ok(post('/envio', join("\n", qq({"tag":"$tag","i":1}), qq({"tag":"$tag",i:2}), qq({"tag":"$tag","i":3})),
              'Content-Type' => 'application/x-ndjson'),
         400, 'NDJSON: line 2 malformed', qr/line\D{0,3}2\b/i);

# Empty bodies and empty arrays.
error_ok(post('/envio', ''), 400, 'empty body');
error_ok(post('/envio', '', 'Content-Type' => 'application/x-ndjson'), 400, 'empty NDJSON body');
error_ok(post('/envio', '[]'), 400, 'empty array');
error_ok(post('/envio', "[ \n ]"), 400, 'empty array with whitespace');

# Over the limits: /small has DosificadorMaxBody 2048, DosificadorMaxMessage 512.
my @fits = map { { tag => $tag, i => $_, pad => 'x' x 100 } } 1 .. 3;
my $big_body = jenc([ map { { tag => $tag, i => $_, pad => 'y' x 200 } } 1 .. 12 ]);
ok(length($big_body) > 2048, 'the body is over 2048 bytes: ' . length $big_body);
error_ok(post('/small', $big_body), 413, 'body over DosificadorMaxBody');
my $big_el = jenc([ @fits, { tag => $tag, i => 99, pad => 'z' x 600 } ]);
ok(length($big_el) < 2048, 'that body is within DosificadorMaxBody');
error_ok(post('/small', $big_el), 413, 'one element over DosificadorMaxMessage');
error_ok(post('/small', join("\n", map { jenc($_) } @fits, { tag => $tag, pad => 'w' x 600 }),
              'Content-Type' => 'application/x-ndjson'),
         413, 'one NDJSON line over DosificadorMaxMessage');
# The server-wide default limit, 1 MiB.
my $mib = jenc([ map { { tag => $tag, i => $_, pad => 'p' x 1000 } } 1 .. 1100 ]);
error_ok(post('/envio', $mib), 413, 'body over the default 1 MiB limit');

# Other content types.
error_ok(post('/envio', qq({"tag":"$tag"}), 'Content-Type' => 'text/plain'), 415, 'text/plain');
error_ok(post('/envio', qq(<tag>$tag</tag>), 'Content-Type' => 'application/xml'), 415, 'application/xml');
error_ok(post('/envio', qq(tag=$tag), 'Content-Type' => 'application/x-www-form-urlencoded'), 415, 'form');

# Other methods.
for my $m (qw(GET PUT DELETE)) {
    my $res = get_req($m => '/envio', $m eq 'PUT' ? (content => qq({"tag":"$tag"}), 'Content-Type' => 'application/json') : ());
    is($res->code, 405, "$m: 405");
    like($res->header('Allow') // '', qr/^\s*POST\s*$/, "$m: Allow: POST");
}

# Nothing of the above reached the queue.
my @sends = grep { $_->{action} =~ /^SendMessage/ } @{ fault_log(sqs => $since) };
is(scalar @sends, 0, 'no bad request caused a SendMessage call') or diag(jenc(\@sends));
is(sqs_count($Q), 0, 'the queue is empty');

# A good request still works afterwards.
my $res = post('/small', jenc(\@fits));
is($res->code, 202, 'valid input within the limits: 202');
is(sqs_count($Q), 3, 'and its 3 objects are queued');
sqs_drain($Q);

assert_signed($since, 'bad input');
done_testing();
