#!/usr/bin/env node
'use strict';
// make bench: the module against the seed's producer and the AWS SDK, in one
// run, on one fauxqs instance behind a counting proxy (bench/count-proxy.js).
//
//   node bench/run.js [--quick] [--out DIR] [--results FILE]
//
// Parts, in order: peers (seed producer, SDK best batch), module ingest
// (single and 100-object arrays, wrk, 64 connections), peers again (the mean
// of both runs is the ratio's denominator), one dispatch tick of N x M
// objects, instructions per object under callgrind, resident memory of one
// child over many requests. Prints the table and writes it to bench/results.md.
// Everything it starts (rig, proxy, httpd, wrk, valgrind) is stopped by pid on
// exit, failure or signal. Loopback only. Raw output stays in bench/out/.
const fs = require('fs');
const os = require('os');
const net = require('net');
const http = require('http');
const path = require('path');
const { spawn, execFileSync, spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick') || /^(1|yes|true)$/i.test(process.env.BENCH_QUICK || '');
const argOf = (k, d) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : d; };
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');
const OUT = path.resolve(argOf('--out', path.join(ROOT, 'bench', 'out', STAMP)));
const PARTIAL = !!process.env.BENCH_PARTS && process.env.BENCH_PARTS.split(',').filter(Boolean).length < 4;
const RESULTS = path.resolve(argOf('--results', path.join(ROOT, 'bench',
  QUICK ? 'out/results-quick.md' : PARTIAL ? 'out/results-partial.md' : 'results.md')));
const HTTPD = process.env.HTTPD || '/usr/sbin/apache2';
const MODULE = path.join(ROOT, '.libs', 'mod_dosificador.so');
const MODDIR = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';

// Every bound of the run; BENCH_QUICK=1 shrinks each part to seconds.
const P = QUICK ? {
  warm: 1, dur: 3, peerWarm: 0.5, peerDur: 3, conns: 64, wrkThreads: 2,
  tickN: 100, tickM: 10, tickWindow: 5,
  cgSingle: 300, cgArrays: 20, cgConc: 8,
  memFirst: 2000, memTarget: 20000, memEvery: 5000, memBudget: 15, memSeg: 3,
} : {
  warm: 2, dur: 10, peerWarm: 1, peerDur: 10, conns: 64, wrkThreads: 2,
  tickN: 1000, tickM: 10, tickWindow: 10,
  cgSingle: 5000, cgArrays: 200, cgConc: 8,
  memFirst: 10000, memTarget: 1000000, memEvery: 100000, memBudget: 240, memSeg: 10,
};
const ARRAY_N = 100;
// BENCH_PARTS=ingest,tick,cpu,memory runs only those (the table then has only those).
const ALL_PARTS = ['ingest', 'tick', 'cpu', 'memory'];
const PARTS = new Set((process.env.BENCH_PARTS || ALL_PARTS.join(',')).split(',').map((x) => x.trim()).filter(Boolean));
for (const p of PARTS) if (!ALL_PARTS.includes(p)) throw new Error(`BENCH_PARTS: unknown part ${p} (${ALL_PARTS.join(', ')})`);

// ---------------------------------------------------------------- plumbing
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0run = Date.now();
const log = (...a) => process.stderr.write(`[bench +${((Date.now() - t0run) / 1000).toFixed(0)}s] ${a.join(' ')}\n`);

const owned = [];          // { name, pid, kill: fn } stopped in reverse on exit
let rigStarted = false;
let cleaning = false;

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// TERM to everything still running, a grace period, then KILL (an httpd
// parent's children too, by pid).
function cleanup() {
  if (cleaning) return;
  cleaning = true;
  const list = owned.slice().reverse();
  const kids = [];
  for (const o of list) {
    if (o.name.startsWith('httpd-')) kids.push(...childrenOf(o.pid));
    try { o.kill(); } catch (e) { /* gone */ }
  }
  for (let i = 0; i < 100 && list.some((o) => alive(o.pid)); i++) sleepSync(100);
  for (const pid of list.map((o) => o.pid).concat(kids)) {
    if (alive(pid)) {
      process.stderr.write(`bench: pid ${pid} still running after SIGTERM: SIGKILL\n`);
      try { process.kill(pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
  }
  if (rigStarted) {
    spawnSync(process.execPath, [path.join(ROOT, 't/rig/rig.js'), 'stop', '--dir', path.join(OUT, 'rig')],
      { stdio: 'inherit' });
    rigStarted = false;
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { log(`${sig}: stopping what the bench started`); cleanup(); process.exit(130); });
}
process.on('exit', cleanup);

function alive(pid) {
  try { process.kill(pid, 0); } catch (e) { if (e.code !== 'EPERM') return false; }
  try {   // a zombie (exited, not yet reaped by us) is gone
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch (e) { return false; }
}

async function waitGone(pid, ms) {
  const t = Date.now();
  while (alive(pid) && Date.now() - t < ms) await sleep(50);
  return !alive(pid);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function request(port, method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false,
      headers: Object.assign(body ? { 'Content-Length': Buffer.byteLength(body) } : {}, headers || {}) }, (res) => {
      const c = [];
      res.on('data', (d) => c.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(c).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

// Runs a command to completion, capturing stdout; throws on failure.
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, Object.assign({ stdio: ['ignore', 'pipe', 'pipe'], env: ENV }, opts));
    const me = { name: path.basename(cmd), pid: child.pid, kill: () => child.kill('SIGTERM') };
    owned.push(me);
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      owned.splice(owned.indexOf(me), 1);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.slice(-1500)}`));
    });
  });
}

const ENV = Object.assign({}, process.env, {
  AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1',
  NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
});
for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete ENV[k];

const lastJson = (s) => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop());

// ---------------------------------------------------------------- rig, proxy, peers
let rig;          // env.json of the rig
let proxyPort;

async function startRig() {
  const q = ['bench-single', 'bench-array', 'bench-seed', 'bench-batch', 'bench-tick', 'bench-cg', 'bench-mem'];
  rigStarted = true;
  await run(process.execPath, [path.join(ROOT, 't/rig/rig.js'), 'start', '--dir', path.join(OUT, 'rig'),
    '--gates', 'off', '--faults', 'off', '--queues', q.join(',')]);
  rig = JSON.parse(fs.readFileSync(path.join(OUT, 'rig', 'env.json'), 'utf8'));
  Object.assign(ENV, { DSF_AKID: rig.DSF_AKID, DSF_SECRET: rig.DSF_SECRET, DSF_REGION: rig.DSF_REGION });
}

// A helper server of bench/: started, "listening PORT" awaited, stopped on exit.
async function startHelper(name, script, args) {
  const logf = path.join(OUT, `${name}.log`);
  const fd = fs.openSync(logf, 'w');
  const child = spawn(process.execPath, [path.join(__dirname, script)].concat(args),
    { stdio: ['ignore', fd, fd], env: ENV });
  fs.closeSync(fd);
  owned.push({ name, pid: child.pid, kill: () => process.kill(child.pid, 'SIGTERM') });
  for (let i = 0; i < 100; i++) {
    const m = /listening (\d+)/.exec(fs.readFileSync(logf, 'utf8'));
    if (m) return Number(m[1]);
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`${name} did not start: ${fs.readFileSync(logf, 'utf8')}`);
}

async function startProxy() {
  proxyPort = await startHelper('count-proxy', 'count-proxy.js', ['--upstream', rig.DSF_FAUXQS_URL]);
}

const proxyUrl = () => `http://127.0.0.1:${proxyPort}`;
async function counts(reset) {
  const r = await request(proxyPort, reset ? 'POST' : 'GET', reset ? '/__reset' : '/__counts');
  return JSON.parse(r.body);
}
const qurl = (name) => rig[`DSF_Q_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];

async function peers(cmd, extra) {
  return lastJson(await run(process.execPath, [path.join(__dirname, 'peers.js'), cmd].concat(extra)));
}
// Chores talk to fauxqs directly: they are not counted.
const purge = (q) => peers('purge', ['--endpoint', rig.DSF_FAUXQS_URL, '--queue', qurl(q)]);
const depth = async (q) => {
  const d = await peers('depth', ['--endpoint', rig.DSF_FAUXQS_URL, '--queue', qurl(q)]);
  return d.visible + d.inflight;
};

async function peerRun(kind, endpoint, queue) {
  await purge(queue);
  await counts(true);
  const r = await peers(kind, ['--endpoint', endpoint, '--queue', qurl(queue), '--body-file', BODY1,
    '--seconds', String(P.peerDur), '--warmup', String(P.peerWarm), '--inflight', '16']);
  const c = endpoint === proxyUrl() ? await counts(true) : null;
  const stored = await depth(queue);
  await purge(queue);
  const calls = c ? Object.values(c).reduce((a, b) => a + b, 0) : null;
  return { rate: r.rate, objects: r.objects, seconds: r.seconds, calls, stored,
           callsPerObject: calls !== null ? calls / stored : null };
}

// ---------------------------------------------------------------- httpd
let BODY1, BODYN;

function writeBodies() {
  // A representative event: ~180 bytes of compact JSON.
  const obj = { id: 'a1b2c3d4', event: 'order.created', amount: 12.5, currency: 'EUR',
    customer: { id: 42, tier: 'gold' }, items: [{ sku: 'X-1', qty: 2 }, { sku: 'Y-9', qty: 1 }], ts: 1733300000 };
  BODY1 = path.join(OUT, 'body-1.json');
  BODYN = path.join(OUT, `body-${ARRAY_N}.json`);
  fs.writeFileSync(BODY1, JSON.stringify(obj));
  fs.writeFileSync(BODYN, JSON.stringify(Array.from({ length: ARRAY_N }, () => obj)));
}

// One httpd instance of its own: ServerRoot OUT/httpd-NAME.
function httpdConf(name, o) {
  const dir = path.join(OUT, `httpd-${name}`);
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const lines = [
    `ServerRoot ${dir}`,
    'ServerName 127.0.0.1',
    `Listen 127.0.0.1:${o.port}`,
    `LoadModule mpm_event_module ${MODDIR}/mod_mpm_event.so`,
    `LoadModule authz_core_module ${MODDIR}/mod_authz_core.so`,
    `LoadModule dosificador_module ${MODULE}`,
    ...(o.asUser ? [] : ['User nobody', 'Group nogroup']),
    'ErrorLog logs/error.log',
    'LogLevel warn dosificador:info',
    'PidFile logs/httpd.pid',
    `StartServers ${o.procs}`, `ServerLimit ${o.procs}`,
    `ThreadsPerChild ${o.threads}`, `ThreadLimit ${o.threads}`,
    `MaxRequestWorkers ${o.procs * o.threads}`,
    // No child is ever retired for idleness or age: the same children serve the whole run.
    'MinSpareThreads 1', `MaxSpareThreads ${2 * o.procs * o.threads + o.threads}`,
    'MaxConnectionsPerChild 0',
    'KeepAlive On', 'MaxKeepAliveRequests 0', 'KeepAliveTimeout 30',
    'Timeout 60',
    'DosificadorRegion us-east-1',
    `DosificadorEndpoint sqs ${proxyUrl()}`,
    `DosificadorEndpoint lambda ${o.lambdaEndpoint || rig.DSF_LAMBDA_ENDPOINT}`,
    `DosificadorCredentials static ${rig.DSF_AKID} ${rig.DSF_SECRET}`,
  ];
  for (const d of o.dosers) {
    lines.push(`Dosificador ${d.name} queue=${qurl(d.queue)} lambda=${d.lambda} ${d.opts}`);
    if (d.location) {
      lines.push(`<Location /${d.location}>`, '  SetHandler dosificador', `  DosificadorEnqueue ${d.name}`, '</Location>');
    }
  }
  fs.writeFileSync(path.join(dir, 'httpd.conf'), lines.join('\n') + '\n');
  return { name, dir, conf: path.join(dir, 'httpd.conf'), errlog: path.join(dir, 'logs', 'error.log'),
           pidfile: path.join(dir, 'logs', 'httpd.pid'), port: o.port };
}

// A doser whose window never comes during the bench (ingest-only).
const holdDoser = (name, queue, location) => ({ name, queue, location, lambda: 'receptor-hold',
  opts: 'perMinute=1 perInvocation=1 window=3600s' });

async function waitListening(port, ms, proc) {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if (proc && proc.exitCode !== null) throw new Error(`${proc.spawnargs[0]} exited ${proc.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${port} after ${ms} ms`);
}

async function startHttpd(h) {
  const r = spawnSync(HTTPD, ['-f', h.conf, '-k', 'start'], { env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`httpd ${h.name} did not start: ${r.stderr}${r.stdout}`);
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    try { pid = Number(fs.readFileSync(h.pidfile, 'utf8').trim()); } catch (e) { await sleep(50); }
  }
  if (!pid) throw new Error(`httpd ${h.name}: no pid file`);
  h.pid = pid;
  h.owned = { name: `httpd-${h.name}`, pid, kill: () => process.kill(pid, 'SIGTERM') };
  owned.push(h.owned);
  await waitListening(h.port, 15000);
  return h;
}

async function stopHttpd(h) {
  try { process.kill(h.pid, 'SIGTERM'); } catch (e) { /* gone */ }
  if (!(await waitGone(h.pid, 15000))) {
    log(`httpd ${h.name} (pid ${h.pid}) still there after SIGTERM: SIGKILL`);
    try { process.kill(h.pid, 'SIGKILL'); } catch (e) { /* gone */ }
  }
  owned.splice(owned.indexOf(h.owned), 1);
}

function childrenOf(pid) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) out.push(Number(d));
    } catch (e) { /* raced */ }
  }
  return out;
}

function dispatcherPids(h) {
  const txt = fs.existsSync(h.errlog) ? fs.readFileSync(h.errlog, 'utf8') : '';
  return Array.from(txt.matchAll(/DSF00402: doser (\S+): dispatcher (\d+) running/g)).map((m) => ({ doser: m[1], pid: Number(m[2]) }));
}

// The serving children: the parent's children that are not dispatchers.
function workerPids(h) {
  const disp = new Set(dispatcherPids(h).map((d) => d.pid));
  return childrenOf(h.pid).filter((p) => !disp.has(p));
}

function cpuMs(pid) {
  const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  const tck = 100; // getconf CLK_TCK on Linux
  return (Number(f[11]) + Number(f[12])) * 1000 / tck;   // utime + stime
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function errorLines(h) {
  if (!fs.existsSync(h.errlog)) return [];
  return fs.readFileSync(h.errlog, 'utf8').split('\n').filter((l) => /:(error|crit|alert|emerg)\]/.test(l));
}

// ---------------------------------------------------------------- wrk
async function wrk(port, loc, body, seconds, latency) {
  const args = [`-t${P.wrkThreads}`, `-c${P.conns}`, `-d${seconds}s`, '--timeout', '30s'];
  if (latency) args.push('--latency');
  args.push('-s', path.join(__dirname, 'wrk', 'post.lua'), `http://127.0.0.1:${port}/${loc}`, '--', body);
  const out = await run('wrk', args);
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk printed no result: ${out}`);
  const r = JSON.parse(line.slice(6));
  const m = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  r.non2xx = m ? Number(m[1]) : 0;
  r.raw = out;
  return r;
}

// ---------------------------------------------------------------- parts
const R = { params: P, quick: QUICK };

async function partPeers(label) {
  log(`peers (${label}): seed producer, SDK best batch, through the counting proxy`);
  R[`seed_${label}`] = await peerRun('seed', proxyUrl(), 'bench-seed');
  R[`batch_${label}`] = await peerRun('batch', proxyUrl(), 'bench-batch');
  log(`  seed ${R[`seed_${label}`].rate.toFixed(0)}/s, batch ${R[`batch_${label}`].rate.toFixed(0)}/s`);
}

async function partPeersDirect() {
  log('peers, direct to fauxqs (reference)');
  R.seed_direct = await peerRun('seed', rig.DSF_FAUXQS_URL, 'bench-seed');
  R.batch_direct = await peerRun('batch', rig.DSF_FAUXQS_URL, 'bench-batch');
}

async function partIngest() {
  const h = httpdConf('ingest', { port: await freePort(), procs: 2, threads: 64, dosers: [
    holdDoser('single', 'bench-single', 'single'), holdDoser('array', 'bench-array', 'array')] });
  await startHttpd(h);
  try {
    for (const [kind, body, n] of [['single', BODY1, 1], ['array', BODYN, ARRAY_N]]) {
      log(`module ingest, ${kind}: ${P.warm} s warm-up, ${P.dur} s measured, ${P.conns} connections`);
      await wrk(h.port, kind, body, P.warm, false);
      await sleep(300);
      await purge(`bench-${kind}`);
      await counts(true);
      const r = await wrk(h.port, kind, body, P.dur, true);
      await sleep(500);                       // calls of the last answered requests
      const c = await counts(true);
      const stored = await depth(`bench-${kind}`);
      await purge(`bench-${kind}`);
      const calls = Object.values(c).reduce((a, b) => a + b, 0);
      fs.writeFileSync(path.join(OUT, `wrk-${kind}.txt`), r.raw);
      delete r.raw;
      R[`ingest_${kind}`] = Object.assign(r, {
        perRequest: n, objects: r.requests * n, rate: r.requests * n / (r.duration_us / 1e6),
        stored, calls, counts: c, callsPerObject: calls / stored,
      });
      log(`  ${R[`ingest_${kind}`].rate.toFixed(0)} objects/s, p50 ${(r.p50_us / 1000).toFixed(1)} ms, ` +
          `p99 ${(r.p99_us / 1000).toFixed(1)} ms, ${(calls / stored).toFixed(3)} calls/object`);
    }
    R.ingest_errors = errorLines(h).slice(0, 5);
  } finally {
    await stopHttpd(h);
  }
}

function receptorObjects(fn, since) {
  let n = 0, last = 0, invocations = 0;
  const txt = fs.readFileSync(rig.DSF_RECEPTOR_OUT, 'utf8');
  for (const l of txt.split('\n')) {
    if (!l) continue;
    let r;
    try { r = JSON.parse(l); } catch (e) { continue; }
    if (r.fn !== fn || r.receivedAt < since) continue;
    const ev = r.event;
    n += Array.isArray(ev) ? ev.length : (ev && Array.isArray(ev.Records) ? ev.Records.length : 1);
    invocations++;
    last = Math.max(last, r.receivedAt);
  }
  return { objects: n, invocations, last };
}

// The tick's receptor: bench/lambda.js (default), or the rig's serverless-offline
// with BENCH_RECEPTOR=serverless (it does not survive a 1,000-invocation tick here).
const RECEPTOR = process.env.BENCH_RECEPTOR === 'serverless' ? 'serverless' : 'standin';
let lambdaPort;

async function receptorCount(since) {
  if (RECEPTOR === 'serverless') return receptorObjects('receptor', since);
  const c = JSON.parse((await request(lambdaPort, 'GET', '/__counts')).body).receptor || {};
  return { objects: c.objects || 0, invocations: c.invocations || 0, last: c.last || 0 };
}

async function partTick() {
  const total = P.tickN * P.tickM;
  log(`tick: preloading ${total} objects with the SDK (direct, not counted)`);
  await purge('bench-tick');
  const pre = await peers('preload', ['--endpoint', rig.DSF_FAUXQS_URL, '--queue', qurl('bench-tick'),
    '--body-file', BODY1, '--count', String(total)]);
  const before = await depth('bench-tick');
  if (RECEPTOR === 'standin') {
    lambdaPort = await startHelper('lambda-standin', 'lambda.js', []);
    await request(lambdaPort, 'POST', '/__reset');
  }
  const h = httpdConf('tick', { port: await freePort(), procs: 1, threads: 8,
    lambdaEndpoint: RECEPTOR === 'standin' ? `http://127.0.0.1:${lambdaPort}` : null, dosers: [{
      name: 'tick', queue: 'bench-tick', lambda: 'receptor',
      opts: `perMinute=${P.tickN} perInvocation=${P.tickM} window=${P.tickWindow}s visibility=120s` }] });
  const since = Date.now();
  await counts(true);
  await startHttpd(h);
  let m, disp, cpu0, cpu1, cpu2, tickEnd, c;
  try {
    for (let i = 0; i < 200 && !disp; i++) {
      disp = dispatcherPids(h).find((d) => d.doser === 'tick');
      if (!disp) await sleep(50);
    }
    if (!disp) throw new Error('tick: no DSF00402 line from the dispatcher');
    cpu0 = cpuMs(disp.pid);
    log(`tick: dispatcher ${disp.pid}; waiting for its first tick (window ${P.tickWindow} s; receptor ${RECEPTOR})`);
    const deadline = Date.now() + (P.tickWindow + 120) * 1000;
    while (!m && Date.now() < deadline) {
      m = /DSF00305: doser tick: tick received (\d+), invoked (\d+) \(failed (\d+)\), delivered (\d+), deleted (\d+), released (\d+), in (\d+) ms/
        .exec(fs.readFileSync(h.errlog, 'utf8'));
      if (!m) await sleep(20);
    }
    if (!m) throw new Error('tick: no DSF00305 line');
    cpu1 = cpuMs(disp.pid);
    tickEnd = Date.now();
    await sleep(1000);                       // the depth call that follows a tick
    cpu2 = alive(disp.pid) ? cpuMs(disp.pid) : cpu1;
    c = await counts(true);
  } finally {
    await stopHttpd(h);                      // well before the next slot: exactly one tick
  }
  const [received, invoked, failed, delivered, deleted, released, ms] = m.slice(1).map(Number);
  R.tick = { receptorKind: RECEPTOR, preloaded: pre.stored, preloadSeconds: pre.seconds, depthBefore: before,
    received, invoked, failed, delivered, deleted, released, ms, cpuMs: cpu1 - cpu0,
    cpuMsWithDepth: cpu2 - cpu0, counts: c, calls: Object.values(c).reduce((a, b) => a + b, 0),
    errors: errorLines(h).slice(0, 5) };
  R.tick.callsPerDelivered = R.tick.calls / Math.max(1, delivered);
  // Event invocations are asynchronous: poll the receptor until it has them all or stops moving.
  const startMs = tickEnd - ms;
  let got = await receptorCount(since), stable = Date.now();
  while (got.objects < delivered && Date.now() - stable < 10000) {
    await sleep(250);
    const g = await receptorCount(since);
    if (g.objects !== got.objects) stable = Date.now();
    got = g;
  }
  R.tick.receptor = got.objects;
  R.tick.receptorInvocations = got.invocations;
  R.tick.receptorLastAfterMs = got.last ? got.last - startMs : null;
  R.tick.depthAfter = await depth('bench-tick');
  await purge('bench-tick');
  log(`  tick ${ms} ms: received ${received}, delivered ${delivered}, deleted ${deleted}; ` +
      `dispatcher CPU ${R.tick.cpuMs} ms; ${R.tick.calls} SQS calls; receptor got ${got.objects}`);
}

// Callgrind: httpd -X (one process) under valgrind, run as nobody from the
// start (vgdb is no use here: valgrind's control FIFOs and the profile
// would belong to root while httpd drops to nobody, and attaching with
// ptrace wedges the process on this machine). Instructions per object come
// from the difference between runs that do the same warm-up and then (a)
// nothing more, (b) cgSingle single-object POSTs, (c) cgArrays array POSTs:
// the profile is written when httpd exits on SIGTERM.
const CG_FNS = ['enqueue_handler', 'dsf_ingest_parse', 'dsf_batch_submit', 'dsf_sqs_send', 'dsf_aws_perform',
  'dsf_sigv4_sign', 'dsf_json_parse', 'dsf_json_dump', 'curl_multi_perform', 'json_loadb'];

function annotate(file) {
  const ann = execFileSync('callgrind_annotate', ['--inclusive=yes', '--auto=no', '--threshold=100', file],
    { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const total = Number(/^\s*([\d,]+) \(100\.0+%\)\s+PROGRAM TOTALS/m.exec(ann)[1].replace(/,/g, ''));
  const fns = {};
  for (const m of ann.matchAll(/^\s*([\d,]+) \([^)]*\)\s+(\S+)/gm)) {
    const name = m[2].slice(m[2].lastIndexOf(':') + 1).replace(/\.(constprop|isra|part)\.\d+$/, '');
    const v = Number(m[1].replace(/,/g, ''));
    if (name.includes("'")) continue;          // fn'2: a recursion level, already inside fn
    if (!fns[name] || v > fns[name]) fns[name] = v;
  }
  return { ann, total, fns };
}

function userIds(user, group) {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })),
           gid: Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]) };
}

async function cgRun(label, steps) {
  const port = await freePort();
  const h = httpdConf(`cg-${label}`, { port, procs: 1, threads: 16, asUser: true, dosers: [
    holdDoser('cgsingle', 'bench-cg', 'single'), holdDoser('cgarray', 'bench-cg', 'array')] });
  const cgdir = path.join(h.dir, 'callgrind');
  fs.mkdirSync(cgdir, { recursive: true });
  const ids = userIds('nobody', 'nogroup');
  for (const d of [h.dir, path.join(h.dir, 'logs'), cgdir]) fs.chownSync(d, ids.uid, ids.gid);
  const logf = fs.openSync(path.join(h.dir, 'valgrind.log'), 'w');
  const vg = spawn('setpriv', [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups',
    'valgrind', '--tool=callgrind', '--vgdb=no', `--callgrind-out-file=${cgdir}/cg.%p`, HTTPD, '-X', '-f', h.conf],
    { stdio: ['ignore', logf, logf], env: ENV });
  fs.closeSync(logf);
  const me = { name: `valgrind-httpd-${label}`, pid: vg.pid, kill: () => process.kill(vg.pid, 'SIGTERM') };
  owned.push(me);
  const post = (loc, body, count, conc) => run(process.execPath, [path.join(__dirname, 'post.js'),
    '--url', `http://127.0.0.1:${port}/${loc}`, '--body-file', body, '--count', String(count),
    '--concurrency', String(conc)]).then(lastJson);
  const res = { label, statuses: {} };
  try {
    await waitListening(port, 120000, vg);
    for (const st of steps) {
      if (st.count) await counts(true);
      const r = await post(st.loc, st.body, st.count || st.warm, st.conc);
      for (const [k, v] of Object.entries(r.statuses)) res.statuses[k] = (res.statuses[k] || 0) + v;
      if (st.count) res.calls = Object.values(await counts(true)).reduce((a, b) => a + b, 0);
    }
  } finally {
    try { process.kill(vg.pid, 'SIGTERM'); } catch (e) { /* gone */ }
    if (!(await waitGone(vg.pid, 60000))) {
      log(`callgrind ${label}: httpd -X did not exit on SIGTERM; SIGKILL (no profile)`);
      try { process.kill(vg.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
    owned.splice(owned.indexOf(me), 1);
  }
  const file = path.join(cgdir, `cg.${vg.pid}`);   // setpriv execs valgrind: same pid
  const a = annotate(file);
  fs.writeFileSync(path.join(h.dir, 'annotate.txt'), a.ann);
  res.total = a.total;
  res.fns = a.fns;
  return res;
}

async function partCallgrind() {
  const warm = [{ loc: 'single', body: BODY1, warm: 200, conc: P.cgConc }, { loc: 'array', body: BODYN, warm: 10, conc: 2 }];
  const aConc = Math.min(P.cgConc, 4);
  log('callgrind: httpd -X under valgrind, three runs (warm-up only; + single POSTs; + array POSTs)');
  const base = await cgRun('base', warm);
  const single = await cgRun('single', warm.concat([{ loc: 'single', body: BODY1, count: P.cgSingle, conc: P.cgConc }]));
  const array = await cgRun('array', warm.concat([{ loc: 'array', body: BODYN, count: P.cgArrays, conc: aConc }]));
  R.cg = { concurrency: P.cgConc, arrayConcurrency: aConc, baseTotal: base.total };
  for (const [kind, r, objects, requests] of [['single', single, P.cgSingle, P.cgSingle],
    ['array', array, P.cgArrays * ARRAY_N, P.cgArrays]]) {
    const per = {};
    for (const fn of CG_FNS) per[fn] = ((r.fns[fn] || 0) - (base.fns[fn] || 0)) / objects;
    R.cg[kind] = { requests, objects, statuses: r.statuses, total: r.total, perObject: (r.total - base.total) / objects,
      handlerPerObject: per.enqueue_handler, fns: per, calls: r.calls, callsPerObject: r.calls / objects };
    log(`  ${kind}: ${Math.round(R.cg[kind].perObject)} instructions/object (process), ` +
        `${Math.round(per.enqueue_handler)} in enqueue_handler; ${(r.calls / objects).toFixed(3)} SQS calls/object`);
  }
  await purge('bench-cg');
}

// One child, MaxConnectionsPerChild 0: RSS after memFirst requests, then
// wrk in segments until memTarget requests or memBudget seconds, sampled at
// every memEvery boundary crossed (the sample after the segment that crossed it).
async function partMemory() {
  // More threads than connections: no connection ever waits for a worker.
  const h = httpdConf('mem', { port: await freePort(), procs: 1, threads: P.conns + 16, dosers: [
    holdDoser('mem', 'bench-mem', 'single')] });
  await startHttpd(h);
  try {
    await purge('bench-mem');
    const workers = workerPids(h);
    if (workers.length !== 1) throw new Error(`memory: expected one serving child, found ${workers.join(',')}`);
    const child = workers[0];
    log(`memory: child ${child}; ${P.memFirst} requests first`);
    const first = lastJson(await run(process.execPath, [path.join(__dirname, 'post.js'),
      '--url', `http://127.0.0.1:${h.port}/single`, '--body-file', BODY1, '--count', String(P.memFirst),
      '--concurrency', String(P.conns)]));
    let done = P.memFirst, errors = (first.statuses['202'] || 0) === P.memFirst ? 0 : P.memFirst - (first.statuses['202'] || 0);
    const curve = [{ requests: done, rssKiB: rssKiB(child), t: 0 }];
    const errKinds = { first: errors };
    let nextMark = P.memEvery;
    const t0 = Date.now();
    while (done < P.memTarget && (Date.now() - t0) / 1000 < P.memBudget) {
      const left = P.memBudget - (Date.now() - t0) / 1000;
      const seg = Math.max(1, Math.min(P.memSeg, Math.ceil(left)));
      const r = await wrk(h.port, 'single', BODY1, seg, false);
      done += r.requests;
      errors += r.non2xx + r.status + r.timeout + r.read + r.write + r.connect;
      for (const k of ['non2xx', 'timeout', 'read', 'write', 'connect']) errKinds[k] = (errKinds[k] || 0) + r[k];
      await purge('bench-mem');
      const s = { requests: done, rssKiB: rssKiB(child), t: (Date.now() - t0) / 1000 };
      if (done >= nextMark || done >= P.memTarget) {
        curve.push(s);
        while (nextMark <= done) nextMark += P.memEvery;
      }
      R.memLast = s;
    }
    if (curve[curve.length - 1].requests !== R.memLast.requests) curve.push(R.memLast);
    const still = workerPids(h);
    R.mem = { child, sameChild: still.length === 1 && still[0] === child, curve, requests: done, errors, errKinds,
      seconds: (Date.now() - t0) / 1000, rate: (done - P.memFirst) / ((Date.now() - t0) / 1000) };
    log(`  ${done} requests; RSS ${curve[0].rssKiB} KiB at ${curve[0].requests}, ` +
        `${curve[curve.length - 1].rssKiB} KiB at ${done}`);
  } finally {
    await stopHttpd(h);
  }
}

// ---------------------------------------------------------------- report
function sh(cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT }).trim(); } catch (e) { return ''; }
}

function machine() {
  const cpu = (/model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')) || [])[1] || os.cpus()[0].model;
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--', 'mod_dosificador.c', 'src', 'include', 'Makefile'])
    .split('\n').filter(Boolean).map((l) => l.slice(3));
  const httpdv = (/Server version: (.*)/.exec(sh(HTTPD, ['-v'])) || [])[1] || '';
  const wrkv = (/wrk (\S+)/.exec(spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '') || [])[1] || '';
  return { cpu, cores: os.cpus().length, memGiB: (os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
    load: os.loadavg().map((x) => x.toFixed(2)).join(' '), commit, dirty, httpd: httpdv, node: process.version,
    wrk: wrkv, fauxqs: JSON.parse(fs.readFileSync(path.join(ROOT, 't/rig/node_modules/fauxqs/package.json'), 'utf8')).version,
    sdk: JSON.parse(fs.readFileSync(path.join(ROOT, 't/rig/node_modules/@aws-sdk/client-sqs/package.json'), 'utf8')).version };
}

const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a'
  : Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ms = (us) => fmt(us / 1000, 1);
const mean = (a, b) => (a + b) / 2;
const verdict = (ok) => (ok ? 'PASS' : 'MISS');

function report(M) {
  const L = [];
  const T = [];   // target rows, in the order of the parts that ran
  const s = R.ingest_single, a = R.ingest_array, t = R.tick, cg = R.cg, mem = R.mem;

  L.push(`# mod_dosificador benchmark${QUICK ? ' (BENCH_QUICK: smoke test, short runs)' : ''}`);
  L.push('');
  L.push(`Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by \`make bench${QUICK ? ' BENCH_QUICK=1' : ''}` +
         `${PARTS.size < ALL_PARTS.length ? ` BENCH_PARTS=${Array.from(PARTS).join(',')}` : ''}\` ` +
         `(${((Date.now() - t0run) / 1000).toFixed(0)} s), commit ${M.commit}` +
         (M.dirty.length ? ` with uncommitted changes to ${M.dirty.join(', ')}` : '') + '.');
  L.push(`Machine: ${M.cpu}, ${M.cores} cores, ${M.memGiB} GiB, Linux ${M.kernel}; load average at the end ${M.load} ` +
         '(shared and noisy: compare rows of the same run, not runs). ' +
         `${M.httpd}, event MPM; Node ${M.node}; fauxqs ${M.fauxqs}; @aws-sdk/client-sqs ${M.sdk}; wrk ${M.wrk}.`);
  L.push('');
  L.push('Everything talks to one fauxqs instance through the same counting proxy (bench/count-proxy.js), which counts ' +
         'SQS calls by `X-Amz-Target`. Objects are a 178-byte JSON event; arrays hold 100 of them.');

  if (s && R.seed_a) {
    const seedA = R.seed_a, seedB = R.seed_b || R.seed_a, batA = R.batch_a, batB = R.batch_b || R.batch_a;
    const seed = mean(seedA.rate, seedB.rate), batch = mean(batA.rate, batB.rate);
    const rSingle = s.rate / seed, rArray = a.rate / batch;
    L.push('');
    L.push(`## Ingest (${P.conns} keep-alive connections, wrk ${P.dur} s after ${P.warm} s warm-up; httpd 2 processes x 64 threads)`);
    L.push('');
    L.push('| producer | objects/s | p50 ms | p99 ms | SQS calls/object | failed requests |');
    L.push('|---|---:|---:|---:|---:|---:|');
    L.push(`| module, single-object POST | ${fmt(s.rate)} | ${ms(s.p50_us)} | ${ms(s.p99_us)} | ${fmt(s.callsPerObject, 3)} | ${s.non2xx + s.status + s.timeout} |`);
    L.push(`| module, ${ARRAY_N}-object array POST | ${fmt(a.rate)} | ${ms(a.p50_us)} | ${ms(a.p99_us)} | ${fmt(a.callsPerObject, 3)} | ${a.non2xx + a.status + a.timeout} |`);
    L.push(`| seed producer: one awaited SendMessage per object (runs before / after the module) | ${fmt(seed)} (${fmt(seedA.rate)} / ${fmt(seedB.rate)}) | | | ${fmt(seedA.callsPerObject, 3)} | |`);
    L.push(`| SDK best: SendMessageBatch of 10, 16 in flight (before / after) | ${fmt(batch)} (${fmt(batA.rate)} / ${fmt(batB.rate)}) | | | ${fmt(batA.callsPerObject, 3)} | |`);
    if (R.seed_direct) {
      L.push(`| reference, no proxy: seed producer / SDK best, straight to fauxqs | ${fmt(R.seed_direct.rate)} / ${fmt(R.batch_direct.rate)} | | | | |`);
    }
    L.push('');
    L.push(`Ratios in this run: module single ÷ seed producer = **${fmt(rSingle, 2)}x**; module array ÷ SDK best batch = **${fmt(rArray, 2)}x**.`);
    L.push(`Ingest calls by action: single ${JSON.stringify(s.counts)} for ${fmt(s.stored)} objects stored; array ${JSON.stringify(a.counts)} for ${fmt(a.stored)}.`);
    T.push(`| single-object ingest >= 6x the seed producer | ${fmt(rSingle, 2)}x (${fmt(s.rate)} vs ${fmt(seed)} objects/s) | ${verdict(rSingle >= 6)} |`);
    T.push(`| single-object ingest <= 0.15 SQS calls/object under load | ${fmt(s.callsPerObject, 3)} | ${verdict(s.callsPerObject <= 0.15)} |`);
    T.push(`| array ingest >= the SDK's best batch shape | ${fmt(rArray, 2)}x (${fmt(a.rate)} vs ${fmt(batch)} objects/s) | ${verdict(rArray >= 1)} |`);
  }

  if (t) {
    const tc = t.counts;
    const all = P.tickN * P.tickM;
    L.push('');
    L.push(`## Dispatch: one tick, N=${P.tickN} invocations of M=${P.tickM} (${fmt(all)} objects preloaded), window ${P.tickWindow} s`);
    L.push('');
    L.push('| measure | value |');
    L.push('|---|---:|');
    L.push(`| tick start to last delete (DSF00305) | ${fmt(t.ms)} ms |`);
    L.push(`| received / invoked (failed) / delivered / deleted / released | ${t.received} / ${t.invoked} (${t.failed}) / ${t.delivered} / ${t.deleted} / ${t.released} |`);
    L.push(`| dispatcher CPU, utime+stime over the tick | ${fmt(t.cpuMs)} ms |`);
    L.push(`| SQS calls: ReceiveMessage / DeleteMessageBatch / ChangeMessageVisibilityBatch / GetQueueAttributes | ${tc.ReceiveMessage || 0} / ${tc.DeleteMessageBatch || 0} / ${tc.ChangeMessageVisibilityBatch || 0} / ${tc.GetQueueAttributes || 0} |`);
    L.push(`| SQS calls per delivered object | ${fmt(t.callsPerDelivered, 3)} |`);
    L.push(`| objects the receptor (${t.receptorKind === 'standin' ? 'bench/lambda.js' : 'serverless-offline'}) received (${t.receptorInvocations} invocations) | ${fmt(t.receptor)}${t.receptorLastAfterMs !== null ? `, the last ${fmt(t.receptorLastAfterMs)} ms after tick start` : ''} |`);
    L.push(`| left in the queue after the tick | ${fmt(t.depthAfter)} |`);
    T.push(`| dispatch <= 0.21 SQS calls per delivered object | ${fmt(t.callsPerDelivered, 3)} | ${verdict(t.callsPerDelivered <= 0.21 && t.delivered > 0)} |`);
    T.push(`| ${fmt(all)}-object tick within 3 s | ${fmt(t.ms)} ms, ${t.delivered} delivered | ${verdict(t.ms <= 3000 && t.delivered === all)} |`);
  }

  if (cg) {
    L.push('');
    L.push(`## CPU cost per ingested object (callgrind, \`httpd -X\`, ${cg.concurrency} concurrent keep-alive clients for single, ${cg.arrayConcurrency} for arrays)`);
    L.push('');
    L.push('| request | requests | objects | instructions/object, whole httpd process | in enqueue_handler (inclusive) | SQS calls/object in this run |');
    L.push('|---|---:|---:|---:|---:|---:|');
    for (const k of ['single', 'array']) {
      const c = cg[k];
      L.push(`| ${k === 'single' ? 'single-object POST' : `${ARRAY_N}-object array POST`} | ${fmt(c.requests)} | ${fmt(c.objects)} | ${fmt(c.perObject)} | ${fmt(c.handlerPerObject)} | ${fmt(c.callsPerObject, 3)} |`);
    }
    L.push('');
    L.push('Where the instructions go, inclusive, per object (single / array): ' +
      CG_FNS.filter((f) => f !== 'enqueue_handler').map((f) => `${f} ${fmt(cg.single.fns[f])} / ${fmt(cg.array.fns[f])}`).join('; ') + '.');
    T.push(`| instructions per ingested object reported | single ${fmt(cg.single.perObject)}, array ${fmt(cg.array.perObject)} | REPORTED |`);
  }

  if (mem) {
    const memFirst = mem.curve[0].rssKiB, memLast = mem.curve[mem.curve.length - 1].rssKiB;
    const half = mem.curve[Math.floor((mem.curve.length - 1) / 2)];
    const growth = memLast - memFirst;
    // "No growth": at most 5% over the size after the first requests, and flat
    // (within 1 MiB) over the second half of the run.
    const memOk = mem.sameChild && growth <= Math.max(0.05 * memFirst, 1024) && memLast - half.rssKiB <= 1024;
    L.push('');
    L.push(`## Memory: one child (MaxConnectionsPerChild 0, ${P.conns + 16} threads), single-object POSTs, ${P.conns} connections`);
    L.push('');
    L.push('| requests served | VmRSS KiB | seconds into the run |');
    L.push('|---:|---:|---:|');
    for (const c of mem.curve) L.push(`| ${fmt(c.requests)} | ${fmt(c.rssKiB)} | ${fmt(c.t, 0)} |`);
    L.push('');
    L.push(`${fmt(mem.requests)} requests in ${fmt(mem.seconds + 0, 0)} s after the first ${fmt(P.memFirst)} ` +
           `(${fmt(mem.rate)}/s; target ${fmt(P.memTarget)} within ${P.memBudget} s${mem.requests < P.memTarget ? ': NOT reached, the count above is what the machine gave' : ''}), ` +
           `${mem.errors} failed${mem.errors ? ` (${JSON.stringify(mem.errKinds)})` : ''}; same child throughout: ${mem.sameChild ? 'yes' : 'NO'}. ` +
           `Growth ${fmt(growth)} KiB from the first sample to the last; ${fmt(memLast - half.rssKiB)} KiB over the second half ` +
           `(from ${fmt(half.requests)} requests).`);
    T.push(`| no memory growth per child (${fmt(mem.requests)} requests; <= 5% over the first sample, within 1 MiB over the second half) | ${fmt(memFirst)} -> ${fmt(memLast)} KiB | ${verdict(memOk)}${mem.requests < P.memTarget ? ` (${fmt(mem.requests)} of ${fmt(P.memTarget)} requests)` : ''} |`);
  }

  L.push('');
  L.push('## Targets (issue 5)');
  L.push('');
  L.push('| target | measured | verdict |');
  L.push('|---|---|---|');
  L.push(...T);
  L.push('');
  L.push('## How to read it');
  L.push('');
  L.push('- objects/s is wrk\'s completed requests x objects per request over the measured seconds; every request had its own answer ' +
         '(202 once SQS acknowledged its objects). p50/p99 are wrk\'s per-request latencies.');
  L.push('- SQS calls/object: calls counted at the proxy during the measured run ÷ objects that reached the queue (its depth).');
  L.push('- The peers run through the same proxy to the same emulator, before and after the module; the ratio uses their mean. ' +
         'The machine is shared: absolute numbers move between runs, ratios within a run are the comparison.');
  L.push('- Instructions are callgrind\'s Ir, all threads of the process (httpd, APR, libcurl, OpenSSL for SigV4, jansson, the module), ' +
         'as the difference between runs that make the same warm-up and then stop, or go on with the measured requests, ' +
         'divided by the objects; callgrind runs everything much slower, so fewer requests share a SendMessageBatch than under ' +
         'wrk (see its calls/object column). They do not depend on the machine\'s load.');
  L.push('- The tick time is the module\'s own DSF00305 figure (receive, invoke, delete, release). Its receptor is bench/lambda.js, ' +
         'a stand-in for the Lambda Invoke API that answers an `Event` invocation 202 once it has read the payload and counts ' +
         'the objects: serverless-offline (BENCH_RECEPTOR=serverless) cannot take a 1,000-invocation tick on this machine ' +
         '(its handlers time out, LambdaTimeoutError, and the process exits).');
  L.push('- Memory: VmRSS of the one serving child, sampled after each wrk segment; the queue is purged between segments so ' +
         'fauxqs stays small.');
  L.push('');
  L.push(`Raw output (wrk, callgrind annotations, httpd logs, results.json): bench/out/${path.basename(OUT)}/ (not committed).`);
  return L.join('\n') + '\n';
}

// ---------------------------------------------------------------- main
async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  fs.chmodSync(OUT, 0o755);
  if (!fs.existsSync(MODULE)) throw new Error(`${MODULE} is missing: run make first`);
  for (const tool of ['wrk', 'valgrind', 'callgrind_control', 'callgrind_annotate']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed (apt-get install wrk valgrind)`);
  }
  log(`output in ${OUT}${QUICK ? ' (quick)' : ''}`);
  writeBodies();
  await startRig();
  await startProxy();
  log(`rig up: fauxqs ${rig.DSF_FAUXQS_URL}, counting proxy ${proxyUrl()}, lambda ${rig.DSF_LAMBDA_ENDPOINT}`);

  if (PARTS.has('ingest')) {
    await partPeers('a');
    await partIngest();
    await partPeers('b');
    await partPeersDirect();
  }
  if (PARTS.has('tick')) await partTick();
  if (PARTS.has('cpu')) await partCallgrind();
  if (PARTS.has('memory')) await partMemory();

  const M = machine();
  R.machine = M;
  fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(R, null, 2) + '\n');
  const md = report(M);
  fs.writeFileSync(path.join(OUT, 'results.md'), md);
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, md);
  process.stdout.write(md);
  log(`table written to ${path.relative(ROOT, RESULTS)}`);
}

main().then(() => { cleanup(); }, (e) => {
  log(`FAILED: ${e.stack || e.message}`);
  try { fs.writeFileSync(path.join(OUT, 'partial.json'), JSON.stringify(R, null, 2) + '\n'); } catch (x) { /* no dir */ }
  cleanup();
  process.exit(1);
});
