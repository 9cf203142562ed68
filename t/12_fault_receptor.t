# Fault scenario 3 (issue 4): the receptor fails: it answers 500 for two
# ticks, then 429 for two ticks, then hangs past DosificadorTimeout for two
# ticks, then works. Nothing is deleted while it fails; a failed batch comes
# back only after the visibility timeout (the back-off) and is delivered
# later; every window keeps the quota, failed attempts included.
# Own httpd, doser N=2 M=2 window=2s visibility=3s, DosificadorTimeout 1500ms.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for);

my ($N, $M, $W, $VIS) = (2, 2, 2000, 3);
my $tag = tag_for('f12');
my $Q = make_queue('f12');
fault_reset();
my $h = Faults::Httpd->new(name => 'f12',
    dosers => ["rcpt queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=2s visibility=${VIS}s payload=records"],
    locations => { '/rcpt' => 'rcpt' },
    server => "DosificadorTimeout 1500ms\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'failing receptor');
$h->start;
my $start = now_ms();

my @objs = map { { tag => $tag, i => $_ } } 0 .. 9;
my $r = $h->post('/rcpt', jenc(\@objs));
$inv->accept($r, \@objs);
is($r->{status}, 202, '10 objects accepted');

# Each fault for two ticks that invoked: bursts of Invoke attempts with it.
my %outcome_of = (500 => sub { ($_[0]{status} // 0) == 500 }, 429 => sub { ($_[0]{status} // 0) == 429 },
                  hang => sub { ($_[0]{outcome} // '') eq 'hang' });
my %phase;
for my $f (500, 429, 'hang') {
    my $from = now_ms();
    fault(lambda => $f eq 'hang' ? { mode => 'hang', match => 'receptor-run' }
                                 : { mode => 'status', status => $f, match => 'receptor-run' });
    my $bursts = wait_for(4 * $W / 1000 + $VIS + 2, sub {
        my @t = map { $_->{t} } grep { $_->{t} >= $from && $outcome_of{$f}->($_) } @{ $inv->invokes };
        my @b;
        for my $t (@t) { push @b, $t if !@b || $t - $b[-1] > $W / 2 }
        @b >= 2 ? \@b : undef
    }, 0.1);
    ok($bursts, "the receptor " . ($f eq 'hang' ? 'hung past the timeout' : "answered $f") . " in two ticks");
    $phase{$f} = $from;
}
# Let the last hung tick time out (1.5 s) before the receptor works again.
Time::HiRes::sleep(1.6);
fault(lambda => { mode => 'pass' });
my $pass_at = now_ms();

my @before = grep { $_->{receivedAt} < $pass_at } @{ $inv->records };
is(scalar @before, 0, 'the receptor got nothing while failing');
my @del = grep { ($_->{queue} // '') eq $Q && ($_->{action} // '') eq 'DeleteMessageBatch' && $_->{t} < $pass_at }
    @{ fault_log(sqs => $start) };
is(scalar @del, 0, 'nothing was deleted while every invocation failed');
like(join('', $h->errlog), qr/DSF00302: doser rcpt: receptor receptor-run: Invoke: HTTP 500/, 'DSF00302 logs the 500');
like(join('', $h->errlog), qr/DSF00302: doser rcpt: receptor receptor-run: Invoke: HTTP 429/, 'DSF00302 logs the 429');
like(join('', $h->errlog), qr/DSF00302: doser rcpt: receptor receptor-run: Invoke: no answer/, 'DSF00302 logs the timeout');

ok($inv->wait_delivered(3 * $W / 1000 * 10 / ($N * $M) + $VIS + 6), 'all 10 delivered once the receptor works');

# A failed batch is not tried again before its visibility timeout: for each
# object, the attempt after a failed one comes at least VIS later.
my %tries;
for my $e (@{ $inv->invokes }) {
    my $ev = eval { jdec($e->{body} // '') } or next;
    for my $rec (@{ $ev->{Records} || [] }) {
        my $o = eval { jdec_chars($rec->{body}) } or next;
        push @{ $tries{ object_key($o) } }, [$e->{t}, $e->{status} // 0];
    }
}
my @early;
for my $k (sort keys %tries) {
    my @t = @{ $tries{$k} };
    for my $i (1 .. $#t) {
        push @early, "$k: " . ($t[$i][0] - $t[$i - 1][0]) . ' ms after a failed try'
            if $t[$i - 1][1] != 202 && $t[$i][0] - $t[$i - 1][0] < $VIS * 1000 - 200;
    }
}
ok(scalar(keys %tries) == 10, 'every object was tried (payloads seen at the proxy)');
ok(!@early, 'a failed batch is tried again only after the visibility timeout') or diag(join "\n", @early);
my $max_tries = 0;
for (values %tries) { $max_tries = @$_ if @$_ > $max_tries }
ok($max_tries >= 2, "objects were tried again after failing (up to $max_tries tries)");

$inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 8);
done_testing();
