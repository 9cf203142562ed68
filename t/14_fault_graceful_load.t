# Fault scenario 5 (issue 4): `apachectl graceful` (SIGUSR1 to the parent)
# ten times in a row while a bounded load generator posts (two workers, 3
# objects every 100 ms, one connection per request, loopback) and ticks run.
# No 5xx and no dropped connection for the load; each graceful brings a new
# dispatcher generation; nothing is lost; no window over the quota, before,
# during or after the reloads.
# Own httpd, doser N=10 M=10 window=1s visibility=5s.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue run_load load_accepted wait_for);

my ($N, $M, $W, $VIS) = (10, 10, 1000, 5);
my $tag = tag_for('f14');
my $Q = make_queue('f14');
fault_reset();
my $h = Faults::Httpd->new(name => 'f14',
    dosers => ["load queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=1s visibility=${VIS}s payload=records"],
    locations => { '/load' => 'load' },
    server => "DosificadorTimeout 3s\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'graceful x10 under load');
$h->start;
my $ppid = $h->pid;

my @load = run_load(url => $h->url('/load'), dir => $h->dir, tag => $tag, workers => 2, per => 3,
                    every_ms => 100, seconds => 14);
Time::HiRes::sleep(1.5);
my $ok = 0;
for my $i (1 .. 10) {
    $ok++ if $h->graceful(15);
    Time::HiRes::sleep(0.3);
}
is($ok, 10, 'ten graceful restarts in a row, each came back');
is($h->pid, $ppid, 'the same parent throughout');

my $load = load_accepted($h->dir, @load);
my %st = %{ $load->{statuses} };
diag('load: ' . scalar(@{ $load->{requests} }) . ' requests, statuses ' . join(', ', map { "$_ x$st{$_}" } sort keys %st));
is($load->{failed_workers}, 0, 'the load generator ran to its end');
ok(@{ $load->{requests} } >= 100, 'the load kept posting during the reloads');
my @bad = grep { $_->{status} != 202 } @{ $load->{requests} };
ok(!@bad, 'every request of the load answered 202: no 5xx, no dropped connection')
    or diag(join "\n", map { "$_->{status} at $_->{t}: " . substr($_->{reason} // $_->{body}, 0, 150) } @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
$inv->accept_keys($load->{accepted});
$inv->{posted} = $load->{posted};

my @gen = $h->dispatcher_pids('load');
my %uniq = map { $_ => 1 } @gen;
ok(keys(%uniq) >= 11, 'a new dispatcher for each generation (' . scalar(keys %uniq) . ' dispatchers)');

ok($inv->wait_delivered($inv->accepted_count / ($N * $M) + $VIS + 6), 'everything accepted was delivered');
my $q = $inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 10);
done_testing();
