# The live status page after a scripted run: objects posted to "dose" and
# delivered over its ticks, one receptor failure on "fail". The JSON is
# checked field by field against what the run did, the metrics are read by a
# real Prometheus text parser and must agree with the JSON, and the HTML is
# rendered in headless Chromium (doser names, quota, a chart with data).
use strict;
use warnings FATAL => 'all';
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use File::Temp qw(tempdir);
use lib 't/lib';
use Dsf::T;

my $url = Apache::TestRequest::resolve_url('/dosificador-status');
sub status_json {
    my $r = get_req(GET => '/dosificador-status?json');
    is($r->code, 200, 'GET ?json answers 200') or return;
    like($r->header('Content-Type') // '', qr{^application/json}, '?json is JSON');
    my $j = decode_or_fail($r) or return;
    return { map { $_->{name} => $_ } @{ $j->{dosers} } }, $j;
}
sub inv_failed { my $i = $_[0]{totals}{invocations}; $i->{error} + $i->{throttled} + $i->{unavailable} }

my ($before) = status_json();
ok($before && $before->{dose} && $before->{fail}, 'the dosers "dose" and "fail" are listed')
    or BAIL_OUT('no status JSON');
fault_reset();

# 6 objects to "dose" (perMinute=3 perInvocation=2 window=2s): one tick, 3 invocations.
my $since = now_ms();
my $tag = tag_for('status');
my $r = post('/dose', jenc([ map { { tag => $tag, i => $_ } } 1 .. 6 ]));
is($r->code, 202, '6 objects accepted by "dose"');
ok(wait_until(12, sub { keys(%{ delivered(fn => 'receptor', tag => $tag, since => $since) }) >= 6 }),
   'and delivered');

# One receptor failure on "fail": its invocation answers 500.
fault(lambda => { mode => 'status', status => 500, match => 'receptor-fail' });
is(post('/fail', jenc([{ tag => $tag, fail => 1 }]))->code, 202, 'an object for "fail" accepted');
ok(wait_until(10, sub { my ($s) = status_json(); $s && inv_failed($s->{fail}) > inv_failed($before->{fail}) }),
   'its invocation fails and the page counts it');
fault(lambda => { mode => 'pass' });
sleep_ms(2500);     # let "dose" finish the tick that deletes, and sample the queue

my ($after, $all) = status_json();
my ($b, $a) = ($before->{dose}, $after->{dose});
is($a->{quota}{per_minute}, 3, 'dose: quota N');
is($a->{quota}{per_invocation}, 2, 'dose: quota M');
is($a->{quota}{window_ms}, 2000, 'dose: window');
is($a->{quota}{objects_per_window}, 6, 'dose: N x M');
is($a->{receptor}, 'receptor', 'dose: receptor');
is($a->{queue_url}, $ENV{DSF_Q_DOSE}, 'dose: queue URL');
is($a->{totals}{accepted} - $b->{totals}{accepted}, 6, 'dose: accepted went up by the 6 posted');
is($a->{totals}{delivered} - $b->{totals}{delivered}, 6, 'dose: delivered went up by 6');
is($a->{totals}{deleted} - $b->{totals}{deleted}, 6, 'dose: and so did deleted');
is($a->{totals}{invocations}{accepted} - $b->{totals}{invocations}{accepted}, 3,
   'dose: 3 invocations accepted (6 objects, 2 each)');
ok($a->{totals}{ticks} > $b->{totals}{ticks}, 'dose: ticks went on');
ok($a->{totals}{sqs_calls}{SendMessageBatch}{ok} > $b->{totals}{sqs_calls}{SendMessageBatch}{ok},
   'dose: SendMessageBatch calls counted');
ok($a->{totals}{sqs_calls}{DeleteMessageBatch}{ok} > $b->{totals}{sqs_calls}{DeleteMessageBatch}{ok},
   'dose: DeleteMessageBatch calls counted');
is($a->{dispatcher}{pid}, dispatcher_pid('dose'), 'dose: the dispatcher pid is the running one');
like($a->{dispatcher}{state}, qr/^(waiting|ticking)$/, 'dose: the dispatcher is on time');
ok(defined $a->{queue}{visible} && $a->{queue}{visible} == 0, 'dose: the queue was sampled, empty');
ok(@{ $a->{ticks} } > 0 && grep({ $_->{delivered} > 0 } @{ $a->{ticks} }), 'dose: the last ticks show a delivery');
ok(inv_failed($after->{fail}) > inv_failed($before->{fail}), 'fail: the failed invocation is counted');
is($all->{credentials}, 'static', 'the credential source is named');
unlike(get_req(GET => '/dosificador-status?json')->content, qr/\Q$ENV{DSF_SECRET}\E/, 'and no secret shown');

# Metrics: a real Prometheus text parser, and the same numbers as the JSON.
my $dir = tempdir(CLEANUP => 1);
my $out = `node t/status/metrics.js '$url' --json '$url?json' 2>&1`;
is($? >> 8, 0, 'the live metrics parse with a Prometheus text parser and agree with the JSON')
    or diag($out);
my $m = get_req(GET => '/dosificador-status?metrics');
like($m->header('Content-Type') // '', qr{^text/plain; version=0\.0\.4}, 'metrics: exposition format 0.0.4');
my ($acc) = $m->content =~ /^dosificador_objects_accepted_total\{doser="dose"\} (\d+)$/m;
is($acc, $a->{totals}{accepted}, 'metrics: accepted for "dose" as in the JSON');

# The HTML in real headless Chromium, against what the configuration says.
my $expect = "$dir/expect.json";
open my $fh, '>', $expect or die $!;
print $fh jenc({ dosers => [ map { { name => $_->{name}, per_minute => $_->{quota}{per_minute},
    per_invocation => $_->{quota}{per_invocation}, window_seconds => $_->{quota}{window_ms} / 1000,
    receptor => $_->{receptor}, queue_url => $_->{queue_url},
    delivered_last_hour => $_->{last_hour}{delivered} } } @{ $all->{dosers} } ] });
close $fh;
$out = `node t/status/browser.js '$url' --expect $expect --screenshot t/logs/status-live.png 2>&1`;
is($? >> 8, 0, 'the page renders in headless Chromium with every doser, its quota and a chart')
    or diag($out);
ok(-s 't/logs/status-live.png', 'a screenshot was taken');

done_testing();
