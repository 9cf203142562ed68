# After everything else: the error log shows no crash and no credential; the
# whole run went through the signature gates without a single refusal.
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestUtil qw(t_catfile);
use lib 't/lib';
use Dsf::T;
use HTTP::Tiny ();

my $vars = Apache::Test::vars();
my $errlog = t_catfile($vars->{t_logs}, 'error_log');
open my $fh, '<', $errlog or die "$errlog: $!";
my @lines = <$fh>;
close $fh;

my @crash = grep { /exit signal|Segmentation fault|AddressSanitizer|core dumped|\[(?:\w+:)?(?:emerg|alert|crit)\]/ } @lines;
ok(!@crash, 'no crash, no emerg/alert/crit in the error log') or diag(join '', @crash[0 .. ($#crash < 9 ? $#crash : 9)]);

my @secret = grep { index($_, $ENV{DSF_SECRET}) >= 0 } @lines;
ok(!@secret, 'the secret access key never appears in the error log') or diag(scalar(@secret) . ' lines');
my @sig = grep { /Signature=[0-9a-f]{64}|Authorization:/i } @lines;
ok(!@sig, 'no signature or Authorization header in the error log') or diag(join '', @sig[0 .. 2]);

my @dsf = grep { /DSF\d{5}/ } @lines;
ok(@dsf, 'the module logs with its numbered messages (' . scalar(@dsf) . ' lines)');

assert_signed(0, 'whole run');

# The gates' own counts: every request they saw was forwarded (none refused).
for my $svc (qw(SQS LAMBDA)) {
    my $url = $ENV{"DSF_${svc}_GATE_URL"};
    ok($url, "the \L$svc\E gate runs") or next;
    my $r = HTTP::Tiny->new(timeout => 5)->get("$url/__gate/stats");
    my $st = $r->{success} ? jdec($r->{content}) : {};
    my %out = %{ $st->{outcomes} || {} };
    ok(($out{forwarded} // 0) > 0, "the \L$svc\E gate checked and forwarded " . ($out{forwarded} // 0) . ' requests');
    my @refused = grep { $_ ne 'forwarded' && $_ ne 'upstream_error' && $out{$_} } sort keys %out;
    ok(!@refused, "the \L$svc\E gate refused none") or diag(jenc(\%out));
}
done_testing();
