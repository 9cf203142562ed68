#!/usr/bin/env bash
# `make run`: the dose at work on local emulators.
#  1. starts the rig (fauxqs, the receptor on serverless-offline, and the
#     SigV4 gates when t/rig/gate.js is there);
#  2. writes an httpd configuration of its own (own ServerRoot under RUN_DIR,
#     loopback only) that Includes conf/dosificador.conf with the example's
#     queue, receptor, endpoints and quota replaced by the emulators' and a
#     short window (perMinute=3 perInvocation=4 window=3s);
#  3. starts httpd in the foreground (as a child of this script), posts 26
#     sample objects and shows them reaching the receptor dose by dose;
#  4. stops httpd and the rig by pid, also on Ctrl-C or failure.
# env: RUN_DIR (build/run), RUN_SECONDS (60), HTTPD, APXS-built module in .libs.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
RUN_DIR=${RUN_DIR:-$top/build/run}
RUN_SECONDS=${RUN_SECONDS:-60}
HTTPD=${HTTPD:-/usr/sbin/apache2}
MODDIR=${MODDIR:-/usr/lib/apache2/modules}
PER_MINUTE=3 PER_INVOCATION=4 WINDOW=3s
export AWS_EC2_METADATA_DISABLED=true NODE_NO_WARNINGS=1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

httpd_pid="" watch_pid=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
    if [ -n "$httpd_pid" ] && kill -0 "$httpd_pid" 2>/dev/null; then
        echo "stopping httpd (pid $httpd_pid)"
        kill -TERM "$httpd_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$httpd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$httpd_pid" 2>/dev/null || true
    fi
    echo "stopping the emulators"
    node t/rig/rig.js stop --dir "$RUN_DIR/rig" || true
}
trap cleanup EXIT
trap 'echo; echo interrupted; exit 130' INT TERM

[ -f .libs/mod_dosificador.so ] || { echo "build first: make"; exit 1; }
node t/rig/rig.js stop --dir "$RUN_DIR/rig" 2>/dev/null || true
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/logs"
chmod 755 "$RUN_DIR" "$RUN_DIR/logs"

node t/rig/rig.js start --dir "$RUN_DIR/rig" --gates auto --faults off --queues run
# shellcheck disable=SC1091
. "$RUN_DIR/rig/env.sh"

port=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die $!; print $s->sockport')
user_group=""
if [ "$(id -u)" = 0 ]; then user_group=$'User nobody\nGroup nogroup'; fi

# conf/dosificador.conf as a user would adapt it: same directives, the
# emulators' values.
TOP="$top" PER_MINUTE=$PER_MINUTE PER_INVOCATION=$PER_INVOCATION WINDOW=$WINDOW perl -pe '
    BEGIN { undef $/ }
    s{^LoadModule dosificador_module \S+}{LoadModule dosificador_module $ENV{TOP}/.libs/mod_dosificador.so}m;
    s{^#(DosificadorEndpoint sqs)\s+\S+}{$1    $ENV{DSF_SQS_ENDPOINT}}m;
    s{^#(DosificadorEndpoint lambda)\s+\S+}{$1 $ENV{DSF_LAMBDA_ENDPOINT}}m;
    s{^#(DosificadorCredentials static)\s+\S+\s+\S+}{$1 $ENV{DSF_AKID} $ENV{DSF_SECRET}}m;
    # Only inside the doser line(s): the comments above it name the keys too.
    s{^(Dosificador[ \t]+\w+(?:[^\n]*\\\n)*[^\n]*)}{
        my $d = $1;
        $d =~ s{queue=\S+}{queue=$ENV{DSF_Q_RUN}};
        $d =~ s{lambda=\S+}{lambda=receptor-run};
        $d =~ s{perMinute=\d+}{perMinute=$ENV{PER_MINUTE}};
        $d =~ s{perInvocation=\d+}{perInvocation=$ENV{PER_INVOCATION}};
        $d =~ s{window=\S+}{window=$ENV{WINDOW}};
        $d =~ s{visibility=\S+}{visibility=10s};
        $d }me;
' <conf/dosificador.conf >"$RUN_DIR/dosificador.conf"
grep -q "queue=$DSF_Q_RUN" "$RUN_DIR/dosificador.conf" && grep -q "lambda=receptor-run perMinute=$PER_MINUTE" "$RUN_DIR/dosificador.conf" ||
    { echo "could not adapt the doser line of conf/dosificador.conf"; exit 1; }

cat >"$RUN_DIR/httpd.conf" <<EOF
# Written by make run (t/rig/run-demo.sh).
ServerRoot "$RUN_DIR"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$RUN_DIR/logs/httpd.pid"
ErrorLog "$RUN_DIR/logs/error_log"
LogLevel info
DefaultRuntimeDir "$RUN_DIR/logs"
$user_group
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule authz_host_module $MODDIR/mod_authz_host.so
StartServers 1
DocumentRoot "$RUN_DIR"
Include "$RUN_DIR/dosificador.conf"
EOF

echo "configuration: $RUN_DIR/httpd.conf + $RUN_DIR/dosificador.conf (from conf/dosificador.conf)"
"$HTTPD" -f "$RUN_DIR/httpd.conf" -t
"$HTTPD" -f "$RUN_DIR/httpd.conf" -DFOREGROUND &
httpd_pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 "$httpd_pid" 2>/dev/null || { echo "httpd exited:"; tail -n 20 "$RUN_DIR/logs/error_log"; exit 1; }
    sleep 0.1
done
echo "httpd $httpd_pid on http://127.0.0.1:$port/envio: perMinute=$PER_MINUTE perInvocation=$PER_INVOCATION window=$WINDOW"
echo "status page (open it in a browser while this runs): http://127.0.0.1:$port/dosificador-status"
echo

body=$(node -e 'console.log(JSON.stringify(Array.from({length: 20}, (_, i) => ({id: i + 1, order: "A-" + (1000 + i)}))))')
echo "POST /envio  (application/json, an array of 20 objects)"
curl -sS -X POST -H 'Content-Type: application/json' --data-binary "$body" \
    -w '\n-> HTTP %{http_code}\n' "http://127.0.0.1:$port/envio" | sed 's/^/  /' | tee "$RUN_DIR/post1"
echo "POST /envio  (application/x-ndjson, 6 lines)"
node -e 'for (let i = 21; i <= 26; i++) console.log(JSON.stringify({id: i, order: "B-" + (2000 + i)}))' |
    curl -sS -X POST -H 'Content-Type: application/x-ndjson' --data-binary @- \
    -w '\n-> HTTP %{http_code}\n' "http://127.0.0.1:$port/envio" | sed 's/^/  /' | tee "$RUN_DIR/post2"
grep -q 'HTTP 202' "$RUN_DIR/post1" && grep -q 'HTTP 202' "$RUN_DIR/post2" ||
    { echo "ingest did not answer 202; the end of httpd's log:"; tail -n 10 "$RUN_DIR/logs/error_log"; exit 1; }
echo
echo "The receptor Lambda, dose by dose (at most $PER_MINUTE invocations of $PER_INVOCATION objects every ${WINDOW}):"
# In the background and awaited, so that a signal to this script (not only a
# terminal's Ctrl-C to the whole group) stops everything at once.
node t/rig/watch.js --file "$DSF_RECEPTOR_OUT" --fn receptor-run --expect 26 --seconds "$RUN_SECONDS" \
    --window "${WINDOW%s}000" &
watch_pid=$!
wait "$watch_pid"
echo
echo "httpd's log of the ticks ($RUN_DIR/logs/error_log):"
grep -a 'DSF00305' "$RUN_DIR/logs/error_log" | grep -v 'received 0,' | tail -n 5 | sed 's/^/  /' || true
echo
echo "the status page's totals (http://127.0.0.1:$port/dosificador-status?json):"
curl -sS "http://127.0.0.1:$port/dosificador-status?json" | node -e '
  let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
    for (const d of JSON.parse(s).dosers) {
      const t = d.totals;
      console.log(`  ${d.name}: accepted ${t.accepted}, delivered ${t.delivered}, deleted ${t.deleted}, ` +
        `ticks ${t.ticks}, invocations ${t.invocations.accepted}, queue ${d.queue.visible ?? "?"} waiting`);
    }
  });' || true
