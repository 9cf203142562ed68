#!/usr/bin/env node
'use strict';
// The SDK warns that its 2027 releases will want Node 22: noise in test output.
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'NodeVersionSupportWarning') process.stderr.write(`${w.name}: ${w.message}\n`); });
// The integration rig: real emulators on free loopback ports, started and
// stopped by the tests.
//
//   node t/rig/rig.js start --dir DIR [--gates on|off|auto] [--faults on|off] [--queues a,b]
//   node t/rig/rig.js stop  --dir DIR
//
// start brings up, each as its own process (own process group), logging to DIR/*.log:
//   fauxqs (SQS emulator)            FAUXQS_PORT, FAUXQS_LOGGER=false
//   serverless-offline (Lambda)       the receptor of t/rig/serverless.yml, scratch HOME
//   signature gates (t/rig/gate.js)   in front of each, with the test credentials
//   fault proxies (t/rig/faults.js)   in front of each gate
// creates the queues, waits until everything answers, and writes DIR/env.sh
// (shell) and DIR/env.json: ports, queue URLs, pids, credentials. The module
// is pointed at the fault proxies: httpd -> faults -> gate -> emulator.
// stop kills exactly the pids start recorded (DIR/pids), TERM then KILL.
const fs = require('fs');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn } = require('child_process');

const RIG = __dirname;
const AKID = 'AKIDDOSIFICADOR0TEST';
const SECRET = 'dsfTestSecret/K7MDENG+bPxRfiCYEXAMPLEKEY';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

// Queues every test run gets. "fail" moves a message received a 4th time to
// "fail-dlq", as a real deployment's redrive policy would.
const DEFAULT_QUEUES = ['hold', 'dose', 'records', 'fail', 'reload', 'faults'];

function parseArgs(argv) {
  const o = { cmd: argv[2], gates: process.env.DSF_GATES || 'auto', faults: 'on', queues: [] };
  for (let i = 3; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--dir') o.dir = path.resolve(v());
    else if (a === '--gates') o.gates = v();
    else if (a === '--faults') o.faults = v();
    else if (a === '--queues') o.queues = v().split(',').filter(Boolean);
    else throw new Error(`rig.js: unknown argument ${a}`);
  }
  if (!o.dir) throw new Error('rig.js: --dir DIR is required');
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function baseEnv(extra) {
  const env = Object.assign({}, process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
  }, extra || {});
  delete env.HTTP_PROXY; delete env.http_proxy; delete env.HTTPS_PROXY; delete env.https_proxy;
  return env;
}

function launch(dir, name, args, opts) {
  const log = path.join(dir, `${name}.log`);
  const fd = fs.openSync(log, 'w');
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd || RIG,
    env: baseEnv(opts.env),
    stdio: ['ignore', fd, fd],
    detached: true, // own process group: a Ctrl-C in the terminal is the launcher's to handle
  });
  fs.closeSync(fd);
  child.unref();
  fs.appendFileSync(path.join(dir, 'pids'), `${name} ${child.pid}\n`);
  return { name, pid: child.pid, log, child };
}

async function waitFor(what, fn, { timeout = 30000, every = 100 } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`rig.js: ${what} not ready after ${timeout} ms${last ? `: ${last.message}` : ''}`);
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return false; }
}

// Waits for a "listening PORT [PORT]" line in a child's log.
async function listeningLine(p) {
  return waitFor(`${p.name} (pid ${p.pid})`, () => {
    if (!alive(p.pid)) {
      throw new Error(`${p.name} exited: ${fs.readFileSync(p.log, 'utf8').slice(-2000)}`);
    }
    const m = /listening (\d+)(?: (\d+))?/.exec(fs.readFileSync(p.log, 'utf8'));
    return m && m.slice(1).filter(Boolean).map(Number);
  }, { timeout: 15000, every: 50 });
}

function post(port, pathName, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathName, method: 'POST',
                               headers: Object.assign({ 'Content-Length': Buffer.byteLength(body) }, headers) },
    (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

function shq(v) {
  return `'${String(v).replace(/'/g, `'\\''`)}'`;
}

async function start(o) {
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o755 });
  if (fs.existsSync(path.join(o.dir, 'pids'))) {
    throw new Error(`rig.js: ${o.dir}/pids exists: a rig may still run there; stop it first`);
  }
  const home = path.join(o.dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  const receptorOut = path.join(o.dir, 'receptor.jsonl');
  fs.writeFileSync(receptorOut, '');
  fs.chmodSync(o.dir, 0o755);

  const gateJs = path.join(RIG, 'gate.js');
  let gates = o.gates;
  if (gates === 'auto') gates = fs.existsSync(gateJs) ? 'on' : 'off';
  if (gates === 'on' && !fs.existsSync(gateJs)) {
    throw new Error('rig.js: --gates on but t/rig/gate.js does not exist (use --gates off or auto)');
  }

  const fqPort = await freePort();
  const lambdaPort = await freePort();
  const httpPort = await freePort();

  // fauxqs and serverless-offline start in parallel; serverless takes ~2 s.
  const fauxqs = launch(o.dir, 'fauxqs', [path.join(RIG, 'node_modules/fauxqs/dist/cli.js')], {
    env: { FAUXQS_PORT: String(fqPort), FAUXQS_LOGGER: 'false' },
  });
  const sls = launch(o.dir, 'serverless', [
    path.join(RIG, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start',
    '--host', '127.0.0.1', '--lambdaPort', String(lambdaPort), '--httpPort', String(httpPort),
  ], {
    env: { HOME: home, RECEPTOR_OUT: receptorOut, SLS_TELEMETRY_DISABLED: '1',
           SLS_NOTIFICATIONS_MODE: 'off', SLS_DEPRECATION_DISABLE: '*', SERVERLESS_PLATFORM_STAGE: 'offline' },
  });

  const fauxqsUrl = `http://127.0.0.1:${fqPort}`;
  process.env.DSF_FAUXQS_URL = fauxqsUrl;
  process.env.DSF_AKID = AKID;
  process.env.DSF_SECRET = SECRET;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const { client } = require('./sqs.js');
  const { ListQueuesCommand, CreateQueueCommand, GetQueueAttributesCommand } = require('@aws-sdk/client-sqs');
  const sqs = client(fauxqsUrl);
  await waitFor('fauxqs', async () => {
    if (!alive(fauxqs.pid)) throw new Error(`fauxqs exited: ${fs.readFileSync(fauxqs.log, 'utf8')}`);
    await sqs.send(new ListQueuesCommand({}));
    return true;
  });

  const queues = {};
  const create = async (name, attributes) => {
    const r = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    queues[name] = r.QueueUrl;
    return r.QueueUrl;
  };
  const names = Array.from(new Set(DEFAULT_QUEUES.concat(o.queues)));
  for (const name of names) {
    if (name === 'fail') {
      const dlq = await create('fail-dlq');
      const arn = (await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes.QueueArn;
      await create('fail', { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: '3' }) });
    } else {
      await create(name);
    }
  }

  await waitFor('serverless-offline', async () => {
    if (!alive(sls.pid)) throw new Error(`serverless exited: ${fs.readFileSync(sls.log, 'utf8').slice(-3000)}`);
    // An unknown function answers 404 ResourceNotFoundException once the Invoke API is up.
    const r = await post(lambdaPort, '/2015-03-31/functions/rig-ready-probe/invocations', '{}', {});
    return r.status === 404;
  }, { timeout: 60000, every: 200 });

  let sqsUp = fauxqsUrl;
  let lambdaUp = `http://127.0.0.1:${lambdaPort}`;
  const env = {
    DSF_RIG_DIR: o.dir,
    DSF_AKID: AKID, DSF_SECRET: SECRET, DSF_REGION: REGION, DSF_ACCOUNT: ACCOUNT,
    AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    DSF_FAUXQS_URL: fauxqsUrl, DSF_FAUXQS_PORT: fqPort, DSF_FAUXQS_PID: fauxqs.pid,
    DSF_LAMBDA_DIRECT_URL: lambdaUp, DSF_LAMBDA_PORT: lambdaPort, DSF_SERVERLESS_PID: sls.pid,
    DSF_RECEPTOR_OUT: receptorOut,
    DSF_GATES: gates,
  };

  if (gates === 'on') {
    const g = {};
    for (const [svc, up] of [['sqs', sqsUp], ['lambda', lambdaUp]]) {
      g[svc] = launch(o.dir, `gate-${svc}`, [gateJs, '--listen', '0', '--upstream', up,
        '--access-key', AKID, '--secret', SECRET, '--service', svc], {});
    }
    const [sqsGate] = await listeningLine(g.sqs);
    const [lambdaGate] = await listeningLine(g.lambda);
    sqsUp = `http://127.0.0.1:${sqsGate}`;
    lambdaUp = `http://127.0.0.1:${lambdaGate}`;
    Object.assign(env, {
      DSF_SQS_GATE_URL: sqsUp, DSF_SQS_GATE_PID: g.sqs.pid,
      DSF_LAMBDA_GATE_URL: lambdaUp, DSF_LAMBDA_GATE_PID: g.lambda.pid,
    });
  }

  let sqsEndpoint = sqsUp;
  let lambdaEndpoint = lambdaUp;
  if (o.faults === 'on') {
    const f = {};
    for (const [svc, up] of [['sqs', sqsUp], ['lambda', lambdaUp]]) {
      f[svc] = launch(o.dir, `faults-${svc}`, [path.join(RIG, 'faults.js'), '--listen', '0', '--control', '0',
        '--upstream', up, '--service', svc], {});
    }
    const [sqsP, sqsC] = await listeningLine(f.sqs);
    const [lamP, lamC] = await listeningLine(f.lambda);
    sqsEndpoint = `http://127.0.0.1:${sqsP}`;
    lambdaEndpoint = `http://127.0.0.1:${lamP}`;
    Object.assign(env, {
      DSF_SQS_FAULT_CTL: `http://127.0.0.1:${sqsC}`, DSF_SQS_FAULT_PID: f.sqs.pid,
      DSF_LAMBDA_FAULT_CTL: `http://127.0.0.1:${lamC}`, DSF_LAMBDA_FAULT_PID: f.lambda.pid,
    });
  }
  env.DSF_SQS_ENDPOINT = sqsEndpoint;
  env.DSF_LAMBDA_ENDPOINT = lambdaEndpoint;
  for (const [name, url] of Object.entries(queues)) {
    env[`DSF_Q_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = url;
  }
  // A queue URL on the same emulator that no one created: SQS answers QueueDoesNotExist.
  env.DSF_Q_GHOST = queues.hold.replace(/\/hold$/, '/ghost-never-created');
  env.DSF_LAMBDA_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:receptor-arn`;

  const sh = Object.entries(env).map(([k, v]) => `export ${k}=${shq(v)}`).join('\n') + '\n';
  fs.writeFileSync(path.join(o.dir, 'env.sh'), sh, { mode: 0o644 });
  fs.writeFileSync(path.join(o.dir, 'env.json'), JSON.stringify(env, null, 2) + '\n', { mode: 0o644 });
  process.stdout.write(`rig ready in ${o.dir} (gates ${gates}): sqs ${sqsEndpoint} lambda ${lambdaEndpoint}\n`);
}

async function stop(o) {
  const file = path.join(o.dir, 'pids');
  if (!fs.existsSync(file)) return;
  const pids = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
    .map((l) => { const [name, pid] = l.split(' '); return { name, pid: Number(pid) }; });
  for (const p of pids.reverse()) {
    // Each was started as its own process-group leader: signal the group (its
    // workers too), then the pid itself in case it left the group.
    for (const target of [-p.pid, p.pid]) {
      try { process.kill(target, 'SIGTERM'); } catch (e) { /* gone */ }
    }
  }
  const t0 = Date.now();
  while (pids.some((p) => alive(p.pid)) && Date.now() - t0 < 5000) await sleep(100);
  for (const p of pids) {
    if (alive(p.pid)) {
      process.stderr.write(`rig.js: ${p.name} (pid ${p.pid}) ignored SIGTERM, killing\n`);
      for (const target of [-p.pid, p.pid]) {
        try { process.kill(target, 'SIGKILL'); } catch (e) { /* gone */ }
      }
    }
  }
  fs.unlinkSync(file);
}

async function main() {
  const o = parseArgs(process.argv);
  if (o.cmd === 'start') {
    try {
      await start(o);
    } catch (e) {
      process.stderr.write(`${e.message}\n`);
      await stop(o); // whatever did start
      process.exit(1);
    }
  } else if (o.cmd === 'stop') {
    await stop(o);
  } else {
    throw new Error('usage: rig.js start|stop --dir DIR');
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
