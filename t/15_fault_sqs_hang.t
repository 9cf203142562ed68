# Fault scenario 6 (issue 4): an SQS endpoint that accepts connections and
# never answers (fault proxy "hang", every SQS call, the dispatcher's too).
# Concurrent ingest requests answer 503 with Retry-After within
# DosificadorTimeout (2 s); meanwhile httpd keeps serving other locations
# (the status page, a plain document) at once, and the parent keeps reaping
# and replacing children (MaxConnectionsPerChild 3 makes them exit often).
# Then SQS answers again: 202, and what was accepted is delivered.
# Own httpd, doser N=3 M=3 window=1s visibility=3s.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Time::HiRes ();
use POSIX ();
use lib 't/lib';
use Dsf::T;
use Faults::Httpd;
use Faults::Invariants;
use Faults::Util qw(make_queue wait_for);

my ($N, $M, $W, $VIS, $TIMEOUT) = (3, 3, 1000, 3, 2);
my $tag = tag_for('f15');
my $Q = make_queue('f15');
fault_reset();
my $h = Faults::Httpd->new(name => 'f15',
    dosers => ["hang queue=$Q lambda=receptor-run perMinute=$N perInvocation=$M window=1s visibility=${VIS}s payload=records"],
    locations => { '/hang' => 'hang' },
    server => "DosificadorTimeout ${TIMEOUT}s\nDosificadorRetryAfter 3\n",
    # Children exit after 3 connections; prefork keeps enough spare ones
    # that the four held by the hanging ingest do not starve the others.
    mpm_conf => "MaxConnectionsPerChild 3\n<IfModule mpm_prefork_module>\n"
              . "StartServers 8\nMinSpareServers 6\nMaxSpareServers 12\n</IfModule>\n");
my $inv = Faults::Invariants->new(queue => $Q, N => $N, M => $M, window_ms => $W, tag => $tag,
                                  what => 'SQS hangs');
$h->start;
my $ppid = $h->pid;
my $n = 0;
sub objs { [ map { { tag => $tag, i => $n++ } } 1 .. $_[0] ] }

my $o = objs(3);
my $r = $h->post('/hang', jenc($o));
$inv->accept($r, $o);
is($r->{status}, 202, 'before: 202');
my %kids_before = map { $_ => 1 } $h->children;
my ($disp) = ($h->dispatcher_pids('hang'))[-1];

fault(sqs => { mode => 'hang' });
# Four ingest requests at once, each in a process of its own.
my @ingest;
for my $k (1 .. 4) {
    my $objs = objs(2);
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $rd;
        my $t0 = Time::HiRes::time();
        my $res = $h->post('/hang', jenc($objs), timeout => 20);
        print $wr jenc({ status => $res->{status}, took => Time::HiRes::time() - $t0,
                         ra => $res->{headers}{'retry-after'}, body => $res->{content} });
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    push @ingest, [$pid, $rd, $objs];
}
# Meanwhile: other locations answer at once, and children come and go.
my (@other, $slow);
my $until = Time::HiRes::time() + $TIMEOUT + 0.5;
while (Time::HiRes::time() < $until) {
    for my $path ('/dsf-status?json', '/index.html') {
        my $t0 = Time::HiRes::time();
        my $res = $h->get($path, timeout => 5);
        my $took = Time::HiRes::time() - $t0;
        push @other, [$path, $res->{status}, $took];
        $slow = $took if !defined $slow || $took > $slow;
    }
    Time::HiRes::sleep(0.05);
}
my @got;
for my $i (@ingest) {
    my ($pid, $rd, $objs) = @$i;
    local $/;
    my $line = <$rd>;
    waitpid($pid, 0);
    my $j = eval { jdec($line) } || { status => 0 };
    push @got, $j;
    $inv->accept({ status => $j->{status}, content => $j->{body} }, $objs);
}
my @took = map { sprintf '%.2f', $_->{took} // -1 } @got;
is_deeply([map { $_->{status} } @got], [503, 503, 503, 503], 'every ingest request answered 503 while SQS hung');
ok(!(grep { !defined $_->{took} || $_->{took} < $TIMEOUT - 0.2 || $_->{took} > $TIMEOUT + 1.5 } @got),
   "each within DosificadorTimeout (${TIMEOUT} s) and not much later: @took s");
ok(!(grep { ($_->{ra} // '') ne '3' } @got), 'each with Retry-After: 3');
ok(@other >= 10 && !(grep { $_->[1] != 200 } @other), scalar(@other) . ' requests to the status page and a document answered 200 meanwhile')
    or diag(join ', ', map { "$_->[0] $_->[1]" } grep { $_->[1] != 200 } @other);
# Blocked behind SQS they would take the 2 s timeout or more; a child that
# reached MaxConnectionsPerChild can make one wait for its replacement
# (httpd's maintenance runs once a second), so: none near 2 s, most at once.
my @quick = grep { $_->[2] < 0.1 } @other;
ok($slow < 1.5 && @quick >= 0.7 * @other, sprintf('none waited on SQS (slowest %.2f s; %d of %d under 0.1 s)',
   $slow, scalar @quick, scalar @other))
    or diag(join ' ', map { sprintf '%s:%.3f', $_->[0], $_->[2] } @other);
my $st = $h->status_doser('hang');
ok($st && $st->{name} eq 'hang', 'the status page still describes the doser');

# The parent reaped the children that reached MaxConnectionsPerChild and
# started new ones; none is left a zombie.
my @kids_after = $h->children;
my @gone = grep { !$kids_before{$_} } @kids_after;
my @old_gone = grep { !Faults::Httpd::alive($_) } keys %kids_before;
ok(@gone && @old_gone, 'the parent replaced children meanwhile (' . scalar(@old_gone) . ' exited, '
   . scalar(@gone) . ' new)');
# A child that just exited is a zombie until the parent's next round (once
# a second): none may stay one.
sub zombies { grep { `ps -o stat= -p $_ 2>/dev/null` =~ /Z/ } $h->children }
my %z1 = map { $_ => 1 } zombies();
Time::HiRes::sleep(2.5) if %z1;
my @stuck = grep { $z1{$_} } zombies();
is(scalar @stuck, 0, 'no child stays a zombie: the parent reaps them') or diag("zombies: @stuck");
is($h->pid, $ppid, 'the same parent');
ok(Faults::Httpd::alive($disp), "the dispatcher ($disp) survived its hung calls");

fault(sqs => { mode => 'pass' });
$o = objs(4);
$r = $h->post('/hang', jenc($o));
$inv->accept($r, $o);
is($r->{status}, 202, 'SQS answers again: 202');

ok($inv->wait_delivered(2 * $W / 1000 + $VIS + 4), 'everything accepted was delivered');
$inv->check_all(httpd => $h, visibility_s => $VIS, expect_empty => 1, min_ticks => 2);
done_testing();
