# The test httpd runs the MPM asked for, with the module, and drops privileges:
# the parent is root, every child (workers and the dispatcher) runs as User.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_catfile);
use lib 't/lib';
use Dsf::T;

my $vars = Apache::Test::vars();
my $mpm = $ENV{DSF_MPM} || 'event';
my $errlog = t_catfile($vars->{t_logs}, 'error_log');

open my $fh, '<', $errlog or die "$errlog: $!";
my @resuming = grep { /resuming normal operations/ } <$fh>;
close $fh;
my %tag = (event => 'AH00489', prefork => 'AH00163', worker => 'AH00292');
ok(@resuming, 'httpd started') or BAIL_OUT('no start line in error_log');
like($resuming[-1], qr/\Q$tag{$mpm}\E/, "httpd runs the $mpm MPM ($tag{$mpm} in the start line)");

open my $pf, '<', t_catfile($vars->{t_logs}, 'httpd.pid') or die "httpd.pid: $!";
chomp(my $ppid = <$pf>);
close $pf;
my @kids = map { [split ' '] } grep { /\S/ } `ps -o pid=,user=,comm= --ppid $ppid`;
ok(@kids >= 2, 'the parent has children (workers and the dispatcher): ' . scalar(@kids));
my $user = $vars->{user};
my @root = grep { $_->[1] ne $user } @kids;
ok(!@root, "every child of the parent runs as User $user")
    or diag(join "\n", map { "@$_" } @root);
my ($puser) = split ' ', `ps -o user= -p $ppid`;
is($puser, (getpwuid($>))[0], 'the parent runs as the user who started httpd');

# Another location of the same server still serves (the module's handler is
# only where SetHandler dosificador says).
my $r = get_req(GET => '/index.html');
is($r->code, 200, 'a plain document is served as usual');

done_testing();
