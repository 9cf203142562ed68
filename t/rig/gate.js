#!/usr/bin/env node
// Signature gate: a loopback HTTP proxy that lets through only requests whose
// SigV4 signature the AWS SDK's own signer (@smithy/signature-v4) reproduces
// with the test credentials, as AWS would; others get AWS's 403.
//
//   node t/rig/gate.js --listen PORT --upstream http://127.0.0.1:UPSTREAM_PORT \
//        --access-key AKID --secret SECRET [--token TOKEN] [--region R] \
//        [--service sqs|lambda] [--max-skew SECONDS] [--quiet]
//   env: GATE_LISTEN, GATE_UPSTREAM, GATE_ACCESS_KEY, GATE_SECRET, GATE_TOKEN,
//        GATE_REGION, GATE_SERVICE, GATE_MAX_SKEW, GATE_QUIET
//
// Prints "listening PORT" on stdout when ready (PORT 0 picks a free one).
// GET /__gate/stats: counts by action (X-Amz-Target's, or the path) and by
// outcome, as JSON; POST /__gate/reset zeroes them. Rejections are logged on
// stderr with their reason, never with a signature, token or key.
'use strict';
const http = require('http');
const crypto = require('crypto');
const path = require('path');
const { createRequire } = require('module');
const rigRequire = createRequire(path.resolve(__dirname, 'package.json'));
const { SignatureV4 } = rigRequire('@smithy/signature-v4');
const { HttpRequest } = rigRequire('@smithy/protocol-http');
const { Sha256 } = rigRequire('@aws-crypto/sha256-js');

const MAX_BODY = 8 * 1024 * 1024;

function options(argv) {
  const o = {
    listen: process.env.GATE_LISTEN, upstream: process.env.GATE_UPSTREAM,
    accessKey: process.env.GATE_ACCESS_KEY, secret: process.env.GATE_SECRET,
    token: process.env.GATE_TOKEN, region: process.env.GATE_REGION,
    service: process.env.GATE_SERVICE, maxSkew: process.env.GATE_MAX_SKEW || '300',
    quiet: !!process.env.GATE_QUIET,
  };
  const names = { '--listen': 'listen', '--upstream': 'upstream', '--access-key': 'accessKey',
    '--secret': 'secret', '--token': 'token', '--region': 'region', '--service': 'service',
    '--max-skew': 'maxSkew' };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--quiet') o.quiet = true;
    else if (names[argv[i]] && i + 1 < argv.length) o[names[argv[i]]] = argv[++i];
    else throw new Error(`unknown or incomplete option ${argv[i]}`);
  }
  if (o.listen === undefined || !o.upstream || !o.accessKey || !o.secret) {
    throw new Error('need --listen, --upstream, --access-key and --secret');
  }
  if (o.service && !['sqs', 'lambda'].includes(o.service)) throw new Error('--service is sqs or lambda');
  o.upstream = new URL(o.upstream);
  o.maxSkew = Number(o.maxSkew);
  return o;
}

// --- AWS's error answers --------------------------------------------------
const MESSAGES = {
  InvalidSignatureException: 'The request signature we calculated does not match the signature you provided. '
    + 'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  MissingAuthenticationTokenException: 'Missing Authentication Token',
  IncompleteSignatureException: 'Authorization header requires \'Credential\', \'Signature\' and \'SignedHeaders\' parameters.',
  UnrecognizedClientException: 'The security token included in the request is invalid.',
};

function awsError(res, service, code, message) {
  message = message || MESSAGES[code];
  const body = service === 'lambda'
    ? JSON.stringify({ Type: 'User', message })
    : JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message });
  res.writeHead(403, {
    'Content-Type': service === 'lambda' ? 'application/json' : 'application/x-amz-json-1.0',
    'x-amzn-ErrorType': code,
    'x-amzn-RequestId': crypto.randomUUID(),
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

// --- what was received ------------------------------------------------------
// All values of a header, in order, each trimmed, joined by commas (as SigV4
// joins duplicates); Node's req.headers would join some with ", ".
function headerValues(req) {
  const h = new Map();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i].toLowerCase();
    let v = req.rawHeaders[i + 1].trim();
    // Node reads header bytes as Latin-1; signers sign the UTF-8 bytes.
    if (/[^\x00-\x7f]/.test(v)) v = Buffer.from(v, 'latin1').toString('utf8');
    h.set(n, h.has(n) ? `${h.get(n)},${v}` : v);
  }
  return h;
}

function decode(s) {
  // %XX to bytes, a bare '%' kept; '+' stays '+' as AWS reads it.
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const m = s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3));
    if (m) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    }
    else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function splitTarget(url) {
  let target = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) { // absolute-form
    const u = new URL(target);
    target = target.slice(target.indexOf(u.host) + u.host.length) || '/';
  }
  const h = target.indexOf('#');
  if (h >= 0) target = target.slice(0, h);
  const q = target.indexOf('?');
  const p = q >= 0 ? target.slice(0, q) : target;
  const query = {};
  if (q >= 0) {
    for (const piece of target.slice(q + 1).split('&')) {
      if (!piece) continue;
      const eq = piece.indexOf('=');
      const k = decode(eq >= 0 ? piece.slice(0, eq) : piece);
      const v = eq >= 0 ? decode(piece.slice(eq + 1)) : '';
      if (!(k in query)) query[k] = v;
      else if (Array.isArray(query[k])) query[k].push(v);
      else query[k] = [query[k], v];
    }
  }
  return { path: p || '/', query };
}

const AUTH_RE = /^AWS4-HMAC-SHA256 +Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request *, *SignedHeaders=([^,\s]+) *, *Signature=([0-9a-f]{64})$/;

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}
const amzDate = (d) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

// Returns null when the request is correctly signed, else [outcome, code, message].
async function verify(o, req, body, headers, service) {
  const auth = headers.get('authorization');
  if (!auth) return ['missing_authentication', 'MissingAuthenticationTokenException'];
  const m = AUTH_RE.exec(auth);
  if (!m) return ['incomplete_signature', 'IncompleteSignatureException'];
  const [, akid, day, region, scopeService, signedList, signature] = m;
  if (akid !== o.accessKey) return ['unknown_key', 'UnrecognizedClientException'];
  const signed = signedList.split(';');
  const sorted = [...signed].sort();
  if (signed.some((n, i) => n !== n.toLowerCase() || n !== sorted[i] || (i && n === sorted[i - 1]))) {
    return ['invalid_signature', 'InvalidSignatureException', 'SignedHeaders must be lowercase, sorted, distinct.'];
  }
  const date = parseAmzDate(headers.get('x-amz-date'));
  if (!date || !signed.includes('x-amz-date') || !signed.includes('host')) {
    return ['incomplete_signature', 'IncompleteSignatureException',
      'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header, and the signed Host header.'];
  }
  const now = new Date();
  if (Math.abs(now - date) > o.maxSkew * 1000) {
    const lim = new Date(now.getTime() + (date < now ? -1 : 1) * o.maxSkew * 1000);
    return ['expired', 'InvalidSignatureException', `Signature expired: ${amzDate(date)} is now `
      + `${date < now ? 'earlier' : 'later'} than ${amzDate(lim)} (${amzDate(now)} ${date < now ? '-' : '+'} ${o.maxSkew / 60} min.)`];
  }
  if (day !== amzDate(date).slice(0, 8)) {
    return ['invalid_signature', 'InvalidSignatureException', 'Credential should be scoped to the date of X-Amz-Date.'];
  }
  if ((o.region && region !== o.region) || (scopeService !== service)) {
    return ['invalid_signature', 'InvalidSignatureException',
      `Credential should be scoped to a valid region and service, not '${region}/${scopeService}'.`];
  }
  const token = headers.get('x-amz-security-token');
  if (token !== undefined && !signed.includes('x-amz-security-token')) {
    return ['invalid_signature', 'InvalidSignatureException', 'X-Amz-Security-Token must be signed.'];
  }
  if ((o.token || token !== undefined) && token !== o.token) {
    return ['bad_token', 'UnrecognizedClientException'];
  }
  for (const n of signed) {
    if (!headers.has(n)) return ['invalid_signature', 'InvalidSignatureException', `Signed header ${n} is missing.`];
  }
  const sha = headers.get('x-amz-content-sha256');
  if (sha !== undefined && sha !== crypto.createHash('sha256').update(body).digest('hex')) {
    return ['invalid_signature', 'InvalidSignatureException', 'x-amz-content-sha256 does not match the body.'];
  }

  // Re-sign what was received, with only the headers the client signed.
  const { path: p, query } = splitTarget(req.url);
  const toSign = {};
  for (const n of signed) if (n !== 'x-amz-date' && n !== 'x-amz-security-token') toSign[n] = headers.get(n);
  const signer = new SignatureV4({
    credentials: { accessKeyId: o.accessKey, secretAccessKey: o.secret,
      ...(token !== undefined ? { sessionToken: token } : {}) },
    region, service: scopeService, sha256: Sha256, applyChecksum: false, uriEscapePath: true,
  });
  const ours = await signer.sign(new HttpRequest({ method: req.method, hostname: 'unused',
    path: p, query, headers: toSign, body: body.length ? body : undefined }),
  { signingDate: date, signableHeaders: new Set(signed) });
  const om = AUTH_RE.exec(ours.headers.authorization);
  if (!om || om[5] !== signedList
      || !crypto.timingSafeEqual(Buffer.from(om[6]), Buffer.from(signature))) {
    return ['invalid_signature', 'InvalidSignatureException'];
  }
  return null;
}

// --- the proxy ---------------------------------------------------------------
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te',
  'trailer', 'upgrade', 'expect', 'content-length']);

function main() {
  let o;
  try {
    o = options(process.argv);
  }
  catch (e) {
    process.stderr.write(`gate: ${e.message}\n`);
    process.exit(2);
  }
  const log = (s) => { if (!o.quiet) process.stderr.write(`gate: ${s}\n`); };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const stats = { requests: 0, connections: 0, outcomes: {}, actions: {} };
  const count = (action, outcome) => {
    stats.requests++;
    stats.outcomes[outcome] = (stats.outcomes[outcome] || 0) + 1;
    const a = stats.actions[action] || (stats.actions[action] = {});
    a[outcome] = (a[outcome] || 0) + 1;
  };

  const server = http.createServer((req, res) => {
    if (req.url === '/__gate/stats' && req.method === 'GET') {
      const body = JSON.stringify(stats);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    if (req.url === '/__gate/reset' && req.method === 'POST') {
      Object.assign(stats, { requests: 0, connections: 0, outcomes: {}, actions: {} });
      res.writeHead(204);
      return res.end();
    }
    const headers = headerValues(req);
    const target = headers.get('x-amz-target');
    const action = target ? target.slice(target.lastIndexOf('.') + 1) : splitTarget(req.url).path;
    const scope = AUTH_RE.exec(headers.get('authorization') || '');
    const service = o.service || (scope ? scope[4] : (target ? 'sqs' : 'lambda'));
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('error', () => {});
    req.on('end', async () => {
      if (size > MAX_BODY) {
        count(action, 'too_large');
        res.writeHead(413, { 'Content-Length': 0 });
        return res.end();
      }
      const body = Buffer.concat(chunks);
      let bad;
      try {
        bad = await verify(o, req, body, headers, service);
      }
      catch (e) {
        bad = ['invalid_signature', 'InvalidSignatureException'];
        log(`${action}: cannot re-sign: ${e.message}`);
      }
      if (bad) {
        count(action, bad[0]);
        log(`403 ${bad[1]} ${req.method} ${action}: ${bad[0]}`);
        return awsError(res, service, bad[1], bad[2]);
      }
      const fwdHeaders = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const n = req.rawHeaders[i];
        if (HOP.has(n.toLowerCase())) continue;
        (fwdHeaders[n] = fwdHeaders[n] || []).push(req.rawHeaders[i + 1]);
      }
      for (const k of Object.keys(fwdHeaders)) {
        if (fwdHeaders[k].length === 1 || k.toLowerCase() === 'host') fwdHeaders[k] = fwdHeaders[k].join(',');
      }
      fwdHeaders['Content-Length'] = body.length;
      // A pooled connection the upstream closes (its keep-alive timeout) just
      // as it is reused fails with ECONNRESET before the upstream saw the
      // request: send it once more on a new connection (Node's documented remedy).
      const send = (retried) => {
      let up;
      try {
        up = http.request({ protocol: o.upstream.protocol, hostname: o.upstream.hostname,
        port: o.upstream.port, method: req.method, path: req.url, headers: fwdHeaders, agent },
      (ures) => {
        count(action, 'forwarded');
        const out = {};
        for (let i = 0; i < ures.rawHeaders.length; i += 2) {
          const n = ures.rawHeaders[i];
          if (HOP.has(n.toLowerCase()) && n.toLowerCase() !== 'content-length') continue;
          (out[n] = out[n] || []).push(ures.rawHeaders[i + 1]);
        }
        res.writeHead(ures.statusCode, ures.statusMessage, out);
        ures.pipe(res);
        ures.on('error', () => res.destroy());
      });
      }
      catch (err) { // a header Node refuses to send on
        count(action, 'upstream_error');
        log(`upstream ${action}: ${err.code || err.message}`);
        res.writeHead(502, { 'Content-Length': 0 });
        return res.end();
      }
      up.on('error', (e) => {
        if (!retried && up.reusedSocket && e.code === 'ECONNRESET' && !res.headersSent) return send(true);
        count(action, 'upstream_error');
        log(`upstream ${action}: ${e.code || e.message}`);
        if (res.headersSent) return res.destroy();
        res.writeHead(502, { 'Content-Length': 0 });
        return res.end();
      });
      up.end(body);
      };
      send(false);
    });
  });
  server.on('connection', () => { stats.connections++; });
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 35000;
  server.requestTimeout = 60000;
  server.listen(Number(o.listen), '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
  const stop = () => {
    server.close();
    agent.destroy();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
