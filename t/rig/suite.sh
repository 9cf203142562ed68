#!/usr/bin/env bash
# The integration suite, once per MPM: start the rig (fresh emulators), run
# the Apache::Test suite (t/TEST starts and stops httpd), stop the rig, also
# on failure or Ctrl-C. Ends with one summary line over all MPMs.
#
#   t/rig/suite.sh [-apxs /usr/bin/apxs] [-httpd /usr/sbin/apache2] [t/NN_x.t ...]
#   env: MPMS ("event prefork"), GATES (on|off|auto, default on), RIG_DIR (t/run/rig)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
MPMS=${MPMS:-event prefork}
GATES=${GATES:-on}
RIG_DIR=${RIG_DIR:-$top/t/run/rig}
export DSF_RIG_DIR=$RIG_DIR
export AWS_EC2_METADATA_DISABLED=true
export NODE_NO_WARNINGS=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

mkdir -p "$top/t/run"
chmod 755 "$top/t/run"

# One suite at a time per working tree: runs share t/logs, the Apache::Test
# configuration and the rig directory. A second run waits for the first.
exec 9>"$top/t/run/suite.lock"
if ! flock -n 9; then
    echo "another integration run holds t/run/suite.lock; waiting for it"
    flock 9
fi

cleanup() {
    perl t/TEST -stop >/dev/null 2>&1 9>&- || true
    node t/rig/rig.js stop --dir "$RIG_DIR" 9>&- || true
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

start=$(date +%s)
declare -A result
overall=0
for mpm in $MPMS; do
    echo "=== integration suite: $mpm MPM (gates $GATES) ==="
    node t/rig/rig.js stop --dir "$RIG_DIR" 2>/dev/null 9>&- || true
    rm -rf "$RIG_DIR"
    if ! node t/rig/rig.js start --dir "$RIG_DIR" --gates "$GATES" 9>&-; then
        echo "rig failed to start; its logs:"
        tail -n 30 "$RIG_DIR"/*.log 2>/dev/null
        result[$mpm]=FAIL
        overall=1
        continue
    fi
    perl t/TEST -clean >/dev/null 2>&1 9>&-
    DSF_MPM=$mpm perl t/TEST -port select "$@" 9>&-
    rc=$?
    if [ $rc -eq 0 ]; then result[$mpm]=PASS; else result[$mpm]=FAIL; overall=1; fi
    cp t/logs/error_log "$top/t/run/error_log.$mpm" 2>/dev/null || true
    if [ $rc -ne 0 ] && [ -f t/logs/error_log ]; then
        echo "--- last lines of t/logs/error_log ($mpm; kept as t/run/error_log.$mpm) ---"
        tail -n 25 t/logs/error_log
    fi
    perl t/TEST -stop >/dev/null 2>&1 9>&- || true
    node t/rig/rig.js stop --dir "$RIG_DIR" 9>&-
    rm -rf "$top/t/run/rig-logs.$mpm"
    mkdir -p "$top/t/run/rig-logs.$mpm"
    cp "$RIG_DIR"/*.log "$RIG_DIR"/receptor.jsonl "$top/t/run/rig-logs.$mpm/" 2>/dev/null || true
done

summary=""
for mpm in $MPMS; do summary="$summary $mpm=${result[$mpm]:-FAIL}"; done
echo "Integration suite (Apache::Test, per MPM):$summary; wall time $(( $(date +%s) - start )) s"
if [ $overall -eq 0 ]; then echo "Result: PASS"; else echo "Result: FAIL"; fi
exit $overall
