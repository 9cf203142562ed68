package Faults::Invariants;
# The delivery invariants of issue 4, checked after every fault scenario by
# comparing what ingest accepted (the 202/207 entries the test collected)
# with what the receptor recorded, what the Lambda fault proxy saw go out and
# what is left in the queue:
#   - every accepted object is delivered at least once (duplicates counted
#     and reported, never a failure: delivery is at least once);
#   - no window carries more than N invocations: Invoke attempts (accepted,
#     failed or hung alike) counted in every sliding interval of W - tol, and
#     per tick of the dispatcher (ticks seen as bursts of ReceiveMessage calls
#     on the doser's queue), ticks never less than W - tol apart;
#   - no invocation carries more than M objects (as sent, and as received);
#   - nothing is deleted unless its invocation was accepted: once the
#     scenario's httpd is stopped and the visibility timeout has passed,
#     every accepted object the receptor never got is still in the queue
#     (or its dead-letter queue).
# Objects carry {tag, i}; the key of an object is "tag#i" (Dsf::T::object_key).
#
#   my $inv = Faults::Invariants->new(queue => $url, N => 2, M => 2, window_ms => 2000, tag => $tag);
#   $inv->accept($res, \@objs) for each POST;  ... ; $httpd->stop; $inv->check_all;
use strict;
use warnings FATAL => 'all';

use Time::HiRes ();
use Test::More ();
use Dsf::T qw(receptor receptor_objects fault_log object_key jdec jdec_chars now_ms sqs sqs_drain);

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        fn        => 'receptor-run',
        since     => now_ms(),
        tol_ms    => undef,
        accepted  => {},          # key => messageId
        posted    => 0,
        statuses  => {},
        %o,
    }, $class;
    die "Faults::Invariants: queue, N, M, window_ms and tag are required\n"
        unless $self->{queue} && $self->{N} && $self->{M} && $self->{window_ms} && defined $self->{tag};
    ($self->{queue_name}) = $self->{queue} =~ m{/([^/]+)$};
    # Measurement slack for the quota's time checks: times are taken where
    # the proxies receive the calls, a few ms after the dispatcher sent them.
    $self->{tol_ms} //= $self->{window_ms} / 5 < 200 ? int($self->{window_ms} / 5) : 200;
    return $self;
}

sub what { $_[0]{what} // "doser on $_[0]{queue_name}" }

# Records what one POST's answer accepted. $res is an HTTP::Tiny response
# (or an HTTP::Response), $objs the objects posted in that request, in order.
sub accept {
    my ($self, $res, $objs) = @_;
    my ($code, $body) = ref $res eq 'HASH' ? ($res->{status}, $res->{content}) : ($res->code, $res->content);
    $self->{statuses}{$code}++;
    $self->{posted} += @$objs;
    return undef unless $code == 202 || $code == 207;
    my $j = eval { jdec($body) } or do {
        Test::More::diag("$code answer is not JSON: " . substr($body // '', 0, 200));
        $self->{bad_answers}++;
        return undef;
    };
    if ($code == 202) {
        my @ids = @{ $j->{messageIds} || [] };
        if (@ids != @$objs) {
            $self->{bad_answers}++;
            Test::More::diag("202 with " . scalar(@ids) . " messageIds for " . scalar(@$objs) . " objects");
        }
        $self->{accepted}{ object_key($objs->[$_]) } = $ids[$_] for grep { defined $ids[$_] } 0 .. $#$objs;
    }
    else {
        for my $e (@{ $j->{results} || [] }) {
            next unless ($e->{status} // '') eq 'accepted' && defined $e->{index} && $objs->[$e->{index}];
            $self->{accepted}{ object_key($objs->[$e->{index}]) } = $e->{messageId};
        }
    }
    return $j;
}

# Adds accepted objects collected elsewhere (the load generator): key => messageId.
sub accept_keys {
    my ($self, $map) = @_;
    $self->{accepted}{$_} = $map->{$_} for keys %$map;
}

sub accepted { $_[0]{accepted} }
sub accepted_count { scalar keys %{ $_[0]{accepted} } }

# The receptor's records of this doser since the scenario began: its
# function, and (payload=records) its queue's ARN or (payload=array) our tag.
sub records {
    my ($self) = @_;
    my @r;
    for my $rec (@{ receptor(fn => $self->{fn}, since => $self->{since}) }) {
        my $ev = $rec->{event};
        if (ref $ev eq 'HASH') {
            my @mine = grep { ($_->{eventSourceARN} // '') =~ /:\Q$self->{queue_name}\E$/ } @{ $ev->{Records} || [] };
            next unless @mine;
        }
        else {
            next unless grep { ref $_ eq 'HASH' && ($_->{tag} // '') eq $self->{tag} } @{ $ev || [] };
        }
        push @r, $rec;
    }
    return \@r;
}

# key => times delivered; also checks that a record's messageId is the one
# ingest answered for that object (payload=records).
sub delivered {
    my ($self) = @_;
    my %seen;
    my @wrong_id;
    for my $rec (@{ $self->records }) {
        my $ev = $rec->{event};
        if (ref $ev eq 'HASH') {
            for my $r (@{ $ev->{Records} || [] }) {
                my $o = eval { jdec_chars($r->{body}) };
                next unless ref $o eq 'HASH' && ($o->{tag} // '') eq $self->{tag};
                my $k = object_key($o);
                $seen{$k}++;
                my $id = $self->{accepted}{$k};
                push @wrong_id, "$k: $r->{messageId} vs $id" if defined $id && $r->{messageId} ne $id;
            }
        }
        else {
            $seen{ object_key($_) }++ for grep { ref $_ eq 'HASH' && ($_->{tag} // '') eq $self->{tag} } @$ev;
        }
    }
    $self->{wrong_id} = \@wrong_id;
    return \%seen;
}

sub missing {
    my ($self, $d) = @_;
    $d //= $self->delivered;
    return grep { !$d->{$_} } sort keys %{ $self->{accepted} };
}

# Waits until every accepted object was delivered; true when they were.
sub wait_delivered {
    my ($self, $timeout_s, $every_s) = @_;
    my $end = Time::HiRes::time() + $timeout_s;
    while (1) {
        return 1 unless $self->missing;
        return 0 if Time::HiRes::time() > $end;
        Time::HiRes::sleep($every_s // 0.25);
    }
}

# Invoke attempts of this doser's receptor the Lambda fault proxy saw.
sub invokes {
    my ($self) = @_;
    my $fn = $self->{fn};
    return [ sort { $a->{t} <=> $b->{t} }
             grep { ($_->{action} // '') eq 'Invoke' && defined $_->{fn}
                    && ($_->{fn} eq $fn || $_->{fn} =~ /:function:\Q$fn\E$/) }
             @{ fault_log(lambda => $self->{since}) } ];
}

# Tick starts: bursts of ReceiveMessage calls on this doser's queue.
sub ticks {
    my ($self) = @_;
    my $W = $self->{window_ms};
    my @t = sort { $a <=> $b } map { $_->{t} }
        grep { ($_->{action} // '') eq 'ReceiveMessage' && ($_->{queue} // '') eq $self->{queue} }
        @{ fault_log(sqs => $self->{since}) };
    my (@ticks, $prev);
    for my $t (@t) {
        push @ticks, $t if !defined $prev || $t - $prev > $W / 4;
        $prev = $t;
    }
    return \@ticks;
}

# The most Invoke attempts in any interval [t, t + W - tol).
sub max_in_window {
    my ($self, $times) = @_;
    my $span = $self->{window_ms} - $self->{tol_ms};
    my ($max, $at, $j) = (0, undef, 0);
    for my $i (0 .. $#$times) {
        $j = $i if $j < $i;
        $j++ while $j + 1 <= $#$times && $times->[$j + 1] < $times->[$i] + $span;
        my $n = $j - $i + 1;
        ($max, $at) = ($n, $times->[$i]) if $n > $max;
    }
    return ($max, $at);
}

# The quota: N per window (sliding and per tick), M per invocation, ticks a
# window apart. Returns a summary {ticks, invokes, per_tick => [[start, n, objects]...]}.
sub check_quota {
    my ($self, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($N, $M, $W, $tol) = @{$self}{qw(N M window_ms tol_ms)};
    my $what = $self->what;
    my $inv = $self->invokes;
    my @times = map { $_->{t} } @$inv;

    my ($max, $at) = $self->max_in_window(\@times);
    Test::More::ok($max <= $N, "$what: at most N=$N invocations in any interval of "
                   . ($W - $tol) . " ms (most seen: $max; " . scalar(@times) . " attempts in all)")
        or Test::More::diag("window starting at $at: " . join(' ', map { $_ - $at } grep { $_ >= $at && $_ < $at + $W } @times));

    my @over_m = grep { !defined $_->{objects} || $_->{objects} > $M || $_->{objects} < 1 } @$inv;
    my @rec_over = grep { my $n = () = receptor_objects($_); $n > $M || $n < 1 } @{ $self->records };
    Test::More::ok(!@over_m && !@rec_over, "$what: every invocation carried 1..M=$M objects (as sent and as received)")
        or Test::More::diag(scalar(@over_m) . " sent and " . scalar(@rec_over) . " received over M or empty: "
                            . join(' ', map { $_->{objects} // 'undef' } @over_m));

    my $ticks = $self->ticks;
    my @gaps = map { $ticks->[$_] - $ticks->[$_ - 1] } 1 .. $#$ticks;
    my @short = grep { $_ < $W - $tol } @gaps;
    Test::More::ok(@$ticks >= ($o{min_ticks} // 1) && !@short,
                   "$what: " . scalar(@$ticks) . " ticks, never two less than " . ($W - $tol) . " ms apart")
        or Test::More::diag("gaps between ticks (ms): @gaps");

    # Per tick: attempts between a tick's receive and the next tick's.
    my @per = map { [$_, 0, 0] } @$ticks;
    my $orphans = 0;
    my $k = -1;
    for my $e (@$inv) {
        $k++ while $k + 1 <= $#$ticks && $ticks->[$k + 1] <= $e->{t};
        if ($k < 0) { $orphans++; next }
        $per[$k][1]++;
        $per[$k][2] += $e->{objects} // 0;
    }
    my @over = grep { $_->[1] > $N } @per;
    Test::More::ok(!@over && !$orphans, "$what: at most N=$N invocations per tick, each after a tick's receive")
        or Test::More::diag(join('; ', map { "tick at $_->[0]: $_->[1] invocations" } @over) . " orphans: $orphans");

    # Bursts of invocations (one per tick that had work) a window apart: the
    # dispatcher keeps its invocations a full window after the previous ones.
    my @bursts;
    my $prev;
    for my $t (@times) {
        push @bursts, $t if !defined $prev || $t - $prev > $W / 2;
        $prev = $t;
    }
    my @bgaps = map { $bursts[$_] - $bursts[$_ - 1] } 1 .. $#bursts;
    my @bshort = grep { $_ < $W - $tol } @bgaps;
    Test::More::ok(!@bshort, "$what: invocations of successive ticks at least " . ($W - $tol) . " ms apart")
        or Test::More::diag("gaps between bursts of invocations (ms): @bgaps");
    return { ticks => $ticks, invokes => $inv, per_tick => \@per, bursts => \@bursts };
}

# Every accepted object delivered at least once; duplicates reported.
sub check_delivery {
    my ($self, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $what = $self->what;
    my $d = $self->delivered;
    my @missing = $self->missing($d);
    my @dups = grep { $d->{$_} > 1 } sort keys %$d;
    my @stray = grep { !exists $self->{accepted}{$_} } sort keys %$d;
    my $n = $self->accepted_count;
    Test::More::ok($n > 0, "$what: ingest accepted objects ($n of $self->{posted} posted)");
    Test::More::ok(!@missing, "$what: every accepted object was delivered at least once")
        or Test::More::diag(scalar(@missing) . " of $n never delivered, e.g. @missing[0 .. ($#missing < 4 ? $#missing : 4)]");
    Test::More::ok(!@{ $self->{wrong_id} }, "$what: each record carries the messageId ingest answered")
        or Test::More::diag(join "\n", @{ $self->{wrong_id} }[0 .. 2]);
    Test::More::diag("$what: $n accepted, " . scalar(keys %$d) . " delivered, " . scalar(@dups)
                     . " delivered more than once" . (@stray ? ", " . scalar(@stray) . " delivered that ingest did not confirm (answered 503: stored all the same)" : ''));
    return { delivered => $d, missing => \@missing, dups => \@dups, stray => \@stray };
}

# After the scenario's httpd has stopped: waits out the visibility timeout,
# then drains the queue (and the dead-letter queue, if any). Every accepted
# object is delivered or still there: nothing was deleted without an
# accepted invocation. Returns the keys still queued.
sub check_queue_end {
    my ($self, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $what = $self->what;
    my $vis_s = $o{visibility_s} // 5;
    my $end = Time::HiRes::time() + $vis_s + 3;
    while (Time::HiRes::time() < $end) {
        my $a = sqs('attrs', queue => $self->{queue});
        last unless $a->{ApproximateNumberOfMessagesNotVisible};
        Time::HiRes::sleep(0.25);
    }
    my %left;
    for my $q (grep { defined } $self->{queue}, $self->{dlq}) {
        for my $m (@{ sqs_drain($q) }) {
            my $o = eval { jdec_chars($m->{Body}) };
            $left{ ref $o eq 'HASH' ? object_key($o) : $m->{Body} }++;
        }
    }
    my $d = $self->delivered;
    my @lost = grep { !$d->{$_} && !$left{$_} } sort keys %{ $self->{accepted} };
    Test::More::ok(!@lost, "$what: nothing lost: every accepted object was delivered or is still queued")
        or Test::More::diag(scalar(@lost) . " accepted objects neither delivered nor in the queue: "
                            . "deleted without an accepted invocation? e.g. @lost[0 .. ($#lost < 4 ? $#lost : 4)]");
    if ($o{expect_empty}) {
        Test::More::is(scalar(keys %left), 0, "$what: the queue is empty at the end (delivered = deleted)")
            or Test::More::diag(join ' ', (sort keys %left)[0 .. 4]);
    }
    return \%left;
}

# Delivery, quota and the queue's end state in one call; the httpd must be
# stopped by then (pass it as httpd => $h to have it stopped here).
sub check_all {
    my ($self, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $q = $self->check_quota(%o);
    my $dl = $self->check_delivery(%o);
    $o{httpd}->stop if $o{httpd};
    $self->check_queue_end(%o);
    return { %$q, %$dl };
}

1;
