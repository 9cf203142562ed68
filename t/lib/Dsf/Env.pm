package Dsf::Env;
# The rig's environment (DIR/env.sh written by t/rig/rig.js) for t/TEST and
# the tests: ports, queue URLs, credentials, pids.
use strict;
use warnings FATAL => 'all';
use FindBin;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

my $T = abs_path(dirname(__FILE__) . '/../..');   # t/

sub t_dir { $T }
sub top_dir { abs_path("$T/..") }

sub rig_dir {
    return $ENV{DSF_RIG_DIR} || "$T/run/rig";
}

# Loads DIR/env.sh into %ENV (values the caller already set win, except that
# a rig's own values always replace a stale one's).
sub load {
    my %o = @_;
    my $file = rig_dir() . '/env.sh';
    if (!-f $file) {
        die "No rig environment at $file: start the rig first "
          . "(node t/rig/rig.js start --dir " . rig_dir() . ")\n" if $o{required};
        return 0;
    }
    open my $fh, '<', $file or die "$file: $!";
    while (my $line = <$fh>) {
        next unless $line =~ /^export ([A-Za-z_][A-Za-z0-9_]*)='(.*)'$/;
        my ($k, $v) = ($1, $2);
        $v =~ s/'\\''/'/g;
        $ENV{$k} = $v;
    }
    close $fh;
    $ENV{AWS_EC2_METADATA_DISABLED} = 'true';
    $ENV{NODE_NO_WARNINGS} = '1';
    return 1;
}

sub reload_conf_file { rig_dir() . '/reload.conf' }

# The doser the graceful-reload test changes, in a file extra.conf Includes.
sub write_reload_conf {
    my %q = @_;
    my $file = reload_conf_file();
    my $tmp = "$file.tmp";
    open my $fh, '>', $tmp or die "$tmp: $!";
    print $fh "# Written by the tests (t/TEST, t/07_graceful.t): the reload doser's quota.\n",
      "Dosificador reload queue=\${DSF_Q_RELOAD} lambda=receptor-reload "
      . "perMinute=$q{perMinute} perInvocation=$q{perInvocation} window=2s visibility=5s\n";
    close $fh or die "$tmp: $!";
    chmod 0644, $tmp;
    rename $tmp, $file or die "rename $tmp: $!";
}

1;
