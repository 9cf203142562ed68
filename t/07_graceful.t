# A graceful restart that changes the quota: doser "reload" starts with
# perMinute=1 perInvocation=2 (window=2s) from an Include'd file; the test
# rewrites it to perMinute=3 perInvocation=1 and sends httpd SIGUSR1
# (apachectl graceful). From the next tick on the new quota applies; the grid
# continues (no two ticks less than a window apart across the restart);
# nothing is lost; ingest keeps working.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_catfile);
use lib 't/lib';
use Dsf::T;
use Dsf::Env;

my $W = 2000;
my $since = now_ms();
my $tag = tag_for('reload');
my $Q = $ENV{DSF_Q_RELOAD};
my $vars = Apache::Test::vars();
my $errlog = t_catfile($vars->{t_logs}, 'error_log');
fault_reset();

sub starts { open my $fh, '<', $errlog or die $!; scalar grep { /resuming normal operations/ } <$fh> }
sub mine {
    my %seen;
    for my $rec (@{ receptor(fn => 'receptor-reload', since => $since) }) {
        $seen{ object_key($_) }++ for grep { ref $_ eq 'HASH' && ($_->{tag} // '') eq $tag } receptor_objects($rec);
    }
    return \%seen;
}

my @objs = map { { tag => $tag, i => $_ } } 0 .. 15;
is(post('/reload', jenc(\@objs))->code, 202, 'backlog of 16 accepted');
ok(wait_until(3 * $W / 1000 + 2, sub { keys(%{ mine() }) >= 4 }), 'two doses delivered under the old quota');

Dsf::Env::write_reload_conf(perMinute => 3, perInvocation => 1);
open my $pf, '<', t_catfile($vars->{t_logs}, 'httpd.pid') or die "httpd.pid: $!";
chomp(my $ppid = <$pf>);
close $pf;
my $before = starts();
my $signal_at = now_ms();
ok(kill(USR1 => $ppid), "graceful restart (SIGUSR1 to httpd $ppid)");
ok(wait_until(10, sub { starts() > $before }), 'httpd came back from the graceful restart');
ok(kill(0 => $ppid), 'the same parent process still runs');

my @more = map { { tag => $tag, i => $_ } } 16 .. 17;
is(post('/reload', jenc(\@more))->code, 202, 'ingest works after the restart');

ok(wait_until(8 * $W / 1000 + 3, sub { keys(%{ mine() }) >= 18 }), 'all 18 objects delivered')
    or diag('delivered ' . scalar(keys %{ mine() }));
my $d = mine();
ok(!(grep { $_ > 1 } values %$d), 'each exactly once');

# Grid and gaps across the restart (N and M here are the larger of both quotas).
my $per = check_dose(fn => 'receptor-reload', queue => $Q, since => $since, N => 3, M => 2, window_ms => $W,
                     what => 'reload', min_ticks => 6);
my (@old_bad, @new_bad, @mid_bad, $new_full);
for my $tick (grep { $_->{objects} } @$per) {
    my $inv = @{ $tick->{records} };
    my $max = 0;
    for (@{ $tick->{records} }) { my $n = scalar(receptor_objects($_)); $max = $n if $n > $max }
    my $old_ok = $inv <= 1 && $max <= 2;
    my $new_ok = $inv <= 3 && $max <= 1;
    my $desc = "tick at $tick->{start}: $inv invocations, up to $max objects";
    if ($tick->{start} < $signal_at) { push @old_bad, $desc unless $old_ok }
    elsif ($tick->{start} > $signal_at + $W + 1000) {
        push @new_bad, $desc unless $new_ok;
        $new_full++ if $inv == 3 && $max == 1;
    }
    else { push @mid_bad, $desc unless $old_ok || $new_ok }
}
ok(!@old_bad, 'before the restart: at most 1 invocation of at most 2 objects per tick') or diag(join "\n", @old_bad);
ok(!@new_bad, 'from the next tick on: at most 3 invocations of 1 object') or diag(join "\n", @new_bad);
ok(!@mid_bad, 'the tick during the restart keeps one quota or the other') or diag(join "\n", @mid_bad);
ok($new_full, 'the new quota is used in full: a tick of 3 invocations of 1 object');
is(wait_until(3, sub { sqs_count($Q) == 0 ? 1 : undef }), 1, 'the queue is empty');

assert_signed($since, 'graceful');
done_testing();
