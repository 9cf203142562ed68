package Faults::Util;
# Small pieces the fault scenarios share: a fresh queue per scenario and MPM,
# a bounded load generator, waiting on a log line.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Time::HiRes ();
use POSIX ();
use HTTP::Tiny ();
use JSON::PP ();
use Dsf::T qw(sqs jenc jdec object_key now_ms);

our @EXPORT_OK = qw(make_queue run_load load_accepted wait_for uid_of);

# A new queue named PREFIX-MPM-PID (fauxqs keeps it in memory for the rig's
# life); returns its URL. %attrs: SQS queue attributes (strings).
sub make_queue {
    my ($prefix, %attrs) = @_;
    my $name = sprintf '%s-%s-%d', $prefix, $ENV{DSF_MPM} || 'event', $$;
    my @a = %attrs ? (attributes => jenc(\%attrs)) : ();
    my $r = sqs('create', name => $name, @a);
    return $r->{QueueUrl} // die "create queue $name: no QueueUrl\n";
}

# A bounded load generator: $o{workers} processes each POST $o{per} objects
# ({tag, i => "w.n.j"}) to $o{url} every $o{every_ms} for $o{seconds}, one
# connection per request. Each answer goes to DIR/load-W.jsonl as
# {t, ms, status, keys, body}. Returns the pids; collect with load_accepted.
sub run_load {
    my (%o) = @_;
    my @pids;
    for my $w (1 .. $o{workers} // 2) {
        my $pid = fork // die "fork: $!";
        if ($pid) { push @pids, $pid; next }
        my $ok = eval {
            my $http = HTTP::Tiny->new(timeout => $o{timeout} // 20, keep_alive => 0);
            open my $out, '>', "$o{dir}/load-$w.jsonl" or die "$o{dir}/load-$w.jsonl: $!";
            $out->autoflush(1);
            my $end = Time::HiRes::time() + $o{seconds};
            my $n = 0;
            while (Time::HiRes::time() < $end) {
                my $t0 = Time::HiRes::time();
                my @objs = map { { tag => $o{tag}, i => "$w.$n.$_" } } 1 .. ($o{per} // 3);
                $n++;
                my $r = $http->request(POST => $o{url}, {
                    content => jenc(\@objs), headers => { 'Content-Type' => 'application/json' } });
                my $t1 = Time::HiRes::time();
                print $out jenc({ t => int($t0 * 1000), ms => int(($t1 - $t0) * 1000), status => $r->{status},
                                  keys => [ map { object_key($_) } @objs ], body => $r->{content} // '',
                                  reason => $r->{status} == 599 ? substr($r->{content} // '', 0, 200) : undef }), "\n";
                my $left = ($o{every_ms} // 100) / 1000 - ($t1 - $t0);
                Time::HiRes::sleep($left) if $left > 0;
            }
            close $out;
            1;
        };
        print STDERR "load worker $w: $@" unless $ok;
        POSIX::_exit($ok ? 0 : 1);
    }
    return @pids;
}

# Waits for the load workers; returns {statuses => {code => n}, accepted => {key => messageId},
# posted => n, requests => [...], failed_workers => n}.
sub load_accepted {
    my ($dir, @pids) = @_;
    my $failed = 0;
    for my $pid (@pids) {
        waitpid($pid, 0);
        $failed++ if $?;
    }
    my (%st, %acc, @reqs);
    my $posted = 0;
    for my $f (glob "$dir/load-*.jsonl") {
        open my $fh, '<', $f or die "$f: $!";
        while (my $l = <$fh>) {
            my $r = eval { jdec($l) } or next;
            push @reqs, $r;
            $st{ $r->{status} }++;
            $posted += @{ $r->{keys} };
            next unless $r->{status} == 202 || $r->{status} == 207;
            my $j = eval { jdec($r->{body}) } or next;
            if ($r->{status} == 202) {
                my @ids = @{ $j->{messageIds} || [] };
                $acc{ $r->{keys}[$_] } = $ids[$_] for grep { defined $ids[$_] } 0 .. $#{ $r->{keys} };
            }
            else {
                for my $e (@{ $j->{results} || [] }) {
                    $acc{ $r->{keys}[ $e->{index} ] } = $e->{messageId} if ($e->{status} // '') eq 'accepted';
                }
            }
        }
        close $fh;
    }
    return { statuses => \%st, accepted => \%acc, posted => $posted, requests => \@reqs, failed_workers => $failed };
}

sub wait_for {
    my ($timeout_s, $cb, $every_s) = @_;
    my $end = Time::HiRes::time() + $timeout_s;
    while (1) {
        my $v = $cb->();
        return $v if $v;
        return undef if Time::HiRes::time() > $end;
        Time::HiRes::sleep($every_s // 0.1);
    }
}

# Real uid of a process (ps), undef when it is gone.
sub uid_of {
    my ($pid) = @_;
    my $u = `ps -o ruid= -p $pid 2>/dev/null`;
    return $u =~ /(\d+)/ ? $1 : undef;
}


1;
