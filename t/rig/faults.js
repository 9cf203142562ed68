#!/usr/bin/env node
'use strict';
// Fault proxy for the integration tests (issue 4): a loopback HTTP proxy in
// front of a real emulator (through its signature gate), whose behaviour a
// test switches at run time on a separate control port.
//
//   node t/rig/faults.js --listen 0 --control 0 --upstream http://127.0.0.1:P --service sqs|lambda
//   prints "listening PORT CONTROLPORT" when ready.
//
// Control (on the control port):
//   POST /__fault  {"mode":"pass|refuse|hang|delay|status", "status":429, "ms":1500,
//                   "count":n, "match":"REGEX"}
//       pass    forward every request (the default)
//       refuse  close the listening socket and every open connection, so new
//               connects are refused, until the next POST /__fault
//       hang    accept requests and never answer them
//       delay   wait "ms" before forwarding
//       status  answer "status" (429, 500, 503...) with the service's AWS error shape
//       partial forward a SendMessageBatch, then report every "every"-th entry
//               (1-based: every=2 fails entries 2, 4, ...) as Failed with
//               "code" and "senderFault" instead of Successful
//       badmd5  forward a SendMessageBatch, then corrupt MD5OfMessageBody of every
//               "every"-th entry of the answer
//     "count" applies the mode to the next n matching requests, then reverts to
//     pass (not for refuse). "match" (a regex on "METHOD PATH ACTION NAME": ACTION
//     is X-Amz-Target's action or Invoke, NAME the QueueUrl of an SQS call or
//     the function of an Invoke) restricts the mode to the requests it matches.
//   GET  /__fault           current mode and counters
//   GET  /__fault/log?since=MS   requests seen (time, action, outcome, status; for
//                             SQS the QueueUrl and entry count, for Lambda the function,
//                             the number of objects and, when small, the payload)
//   POST /__fault/reset     counters and log cleared
const http = require('http');
const { URL } = require('url');

function parseArgs(argv) {
  const o = { listen: 0, control: 0, host: '127.0.0.1', service: 'sqs' };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--listen') o.listen = Number(v());
    else if (a === '--control') o.control = Number(v());
    else if (a === '--upstream') o.upstream = v();
    else if (a === '--service') o.service = v();
    else if (a === '--host') o.host = v();
    else throw new Error(`faults.js: unknown argument ${a}`);
  }
  if (!o.upstream) throw new Error('faults.js: --upstream URL is required');
  return o;
}

const opts = parseArgs(process.argv);
const upstream = new URL(opts.upstream);
// A fresh upstream connection per request: a pooled idle one may be closed
// by the upstream just as it is reused, and that ECONNRESET would be the rig's
// fault, not the module's.
const agent = new http.Agent({ keepAlive: false, maxSockets: 256 });

let state = { mode: 'pass' };
const counters = { requests: 0, passed: 0, faulted: 0, refusedPeriods: 0, upstreamErrors: 0 };
let log = [];
const LOG_MAX = 200000;
const sockets = new Set();
const hung = new Set();
let listening = false;
let dataPort = opts.listen;

// The AWS action of a request: SQS JSON protocol names it in X-Amz-Target;
// Lambda in the path (/2015-03-31/functions/NAME/invocations => Invoke).
function actionOf(req) {
  const t = req.headers['x-amz-target'];
  if (t) return String(t).replace(/^.*\./, '');
  if (/\/functions\/[^/]+\/invocations/.test(req.url)) return 'Invoke';
  return '';
}

function errorShape(service, status) {
  if (service === 'lambda') {
    const type = status === 429 ? 'TooManyRequestsException' : 'ServiceException';
    return {
      headers: { 'Content-Type': 'application/json', 'X-Amzn-ErrorType': type,
                 'X-Amzn-RequestId': rid() },
      body: JSON.stringify(status === 429
        ? { Type: 'User', message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }
        : { Type: 'Service', message: 'Injected fault: service error' }),
    };
  }
  // SQS JSON protocol (awsJson1_0) error shape.
  const type = status === 429 ? 'ThrottlingException'
    : status === 503 ? 'ServiceUnavailable' : 'InternalError';
  const prefix = status === 429 ? 'com.amazon.coral.availability#' : 'com.amazonaws.sqs#';
  return {
    headers: { 'Content-Type': 'application/x-amz-json-1.0',
               'x-amzn-query-error': `${type};${status >= 500 ? 'Receiver' : 'Sender'}`,
               'x-amzn-RequestId': rid() },
    body: JSON.stringify({ __type: prefix + type, message: 'Injected fault: ' + type }),
  };
}

function rid() {
  return require('crypto').randomUUID();
}

function describe(entry, req, body) {
  if (opts.service === 'sqs') {
    try {
      const j = JSON.parse(body.toString());
      if (j.QueueUrl) entry.queue = j.QueueUrl;
      if (Array.isArray(j.Entries)) entry.entries = j.Entries.length;
      if (j.MaxNumberOfMessages) entry.max = j.MaxNumberOfMessages;
    } catch (e) { /* not JSON: leave it to the upstream to say so */ }
    return;
  }
  const m = /\/functions\/([^/]+)\/invocations/.exec(req.url);
  if (!m) return;
  entry.fn = decodeURIComponent(m[1]);
  try {
    const j = JSON.parse(body.toString());
    entry.objects = Array.isArray(j) ? j.length : (j && Array.isArray(j.Records) ? j.Records.length : null);
  } catch (e) {
    entry.objects = null;
  }
  if (body.length <= 8192) entry.body = body.toString();
}

// Which entries of a SendMessageBatch a partial/badmd5 fault hits.
function hitIds(reqJson, every) {
  const ids = new Set();
  (reqJson.Entries || []).forEach((e, i) => { if ((i + 1) % every === 0) ids.add(e.Id); });
  return ids;
}

function partial(s) {
  return (reqJson, ans) => {
    const ids = hitIds(reqJson, s.every || 2);
    const ok = [];
    ans.Failed = ans.Failed || [];
    for (const e of ans.Successful || []) {
      if (ids.has(e.Id)) {
        ans.Failed.push({ Id: e.Id, SenderFault: !!s.senderFault, Code: s.code || 'InternalError',
                          Message: 'Injected fault: entry reported failed' });
      } else ok.push(e);
    }
    ans.Successful = ok;
    return ans;
  };
}

function badmd5(s) {
  return (reqJson, ans) => {
    const ids = hitIds(reqJson, s.every || 2);
    for (const e of ans.Successful || []) {
      if (ids.has(e.Id)) e.MD5OfMessageBody = '00000000000000000000000000000000';
    }
    return ans;
  };
}

function matches(req, action, entry) {
  if ((state.mode === 'partial' || state.mode === 'badmd5') && action !== 'SendMessageBatch') return false;
  if (!state.match) return true;
  return new RegExp(state.match).test(`${req.method} ${req.url} ${action} ${entry.queue || entry.fn || ''}`);
}

function record(entry) {
  log.push(entry);
  if (log.length > LOG_MAX) log = log.slice(log.length - LOG_MAX / 2);
}

function forward(req, res, body, entry, transform) {
  // Headers go on untouched, Host included: it is signed, and the gate
  // behind this proxy checks the signature.
  const headers = Object.assign({}, req.headers);
  const up = http.request({
    host: upstream.hostname, port: upstream.port || 80, method: req.method,
    path: req.url, headers, agent,
  }, (ur) => {
    entry.status = ur.statusCode;
    const h = {};
    for (const [k, v] of Object.entries(ur.headers)) {
      if (!/^(connection|keep-alive|transfer-encoding)$/i.test(k)) h[k] = v;
    }
    if (!transform) {
      res.writeHead(ur.statusCode, h);
      ur.pipe(res);
      ur.on('end', () => { entry.ms = Date.now() - entry.t; });
      return;
    }
    const chunks = [];
    ur.on('data', (c) => chunks.push(c));
    ur.on('end', () => {
      let out = Buffer.concat(chunks);
      if (ur.statusCode === 200) {
        try {
          out = Buffer.from(JSON.stringify(transform(JSON.parse(body.toString()), JSON.parse(out.toString()))));
        } catch (e) {
          entry.error = 'transform: ' + e.message;
        }
      }
      h['content-length'] = String(out.length);
      delete h['content-encoding'];
      res.writeHead(ur.statusCode, h);
      res.end(out);
      entry.ms = Date.now() - entry.t;
    });
  });
  up.on('error', (e) => {
    counters.upstreamErrors++;
    entry.status = 599;
    entry.error = e.code || String(e);
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
    }
    res.end(`faults.js: upstream error ${e.code || e}\n`);
  });
  up.end(body);
}

function consumeCount() {
  if (typeof state.count === 'number') {
    state.count--;
    if (state.count <= 0) state = { mode: 'pass' };
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const action = actionOf(req);
    const entry = { t: Date.now(), method: req.method, path: req.url, action, bytes: body.length };
    describe(entry, req, body);
    record(entry);
    counters.requests++;
    const active = state.mode !== 'pass' && matches(req, action, entry);
    if (!active) {
      counters.passed++;
      entry.outcome = 'pass';
      forward(req, res, body, entry);
      return;
    }
    const mode = state.mode;
    const s = state;
    consumeCount();
    counters.faulted++;
    entry.outcome = mode;
    if (mode === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (mode === 'delay') {
      setTimeout(() => forward(req, res, body, entry), s.ms || 1000);
      return;
    }
    if (mode === 'partial' || mode === 'badmd5') {
      forward(req, res, body, entry, mode === 'partial' ? partial(s) : badmd5(s));
      return;
    }
    if (mode === 'status') {
      const st = s.status || 500;
      const shape = errorShape(opts.service, st);
      entry.status = st;
      res.writeHead(st, Object.assign({ 'Content-Length': Buffer.byteLength(shape.body) }, shape.headers));
      res.end(shape.body);
      return;
    }
    // refuse reaches here only for a request that slipped in as the socket closed.
    req.socket.destroy();
  });
});
server.keepAliveTimeout = 30000;
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});

function listenData(cb) {
  server.listen(dataPort, opts.host, () => {
    dataPort = server.address().port;
    listening = true;
    if (cb) cb();
  });
}

function refuse(cb) {
  counters.refusedPeriods++;
  if (!listening) return cb();
  listening = false;
  server.close(() => {});
  for (const s of sockets) s.destroy();
  // server.close's callback waits for connections to end; they were just destroyed.
  setImmediate(cb);
}

function setMode(next, cb) {
  const wasRefusing = state.mode === 'refuse';
  state = next;
  if (next.mode === 'refuse') return refuse(cb);
  if (wasRefusing || !listening) {
    return listenData(cb);
  }
  cb();
}

const control = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const reply = (code, obj) => {
    const b = JSON.stringify(obj);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(b) });
    res.end(b);
  };
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && u.pathname === '/__fault') {
      return reply(200, { state, counters, listening, port: dataPort, hung: hung.size });
    }
    if (req.method === 'GET' && u.pathname === '/__fault/log') {
      const since = Number(u.searchParams.get('since') || 0);
      return reply(200, log.filter((e) => e.t >= since));
    }
    if (req.method === 'POST' && u.pathname === '/__fault/reset') {
      log = [];
      for (const k of Object.keys(counters)) counters[k] = 0;
      return reply(200, { ok: true });
    }
    if (req.method === 'POST' && u.pathname === '/__fault') {
      let next;
      try {
        next = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      } catch (e) {
        return reply(400, { error: 'body is not JSON: ' + e.message });
      }
      if (!['pass', 'refuse', 'hang', 'delay', 'status', 'partial', 'badmd5'].includes(next.mode)) {
        return reply(400, { error: 'mode must be pass|refuse|hang|delay|status|partial|badmd5' });
      }
      if (next.match) {
        try { new RegExp(next.match); } catch (e) { return reply(400, { error: 'bad match: ' + e.message }); }
      }
      return setMode(next, () => reply(200, { state, listening, port: dataPort }));
    }
    reply(404, { error: 'unknown control path' });
  });
});

listenData(() => {
  control.listen(opts.control, opts.host, () => {
    process.stdout.write(`listening ${dataPort} ${control.address().port}\n`);
  });
});

function shutdown() {
  for (const s of sockets) s.destroy();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
