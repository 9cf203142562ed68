// Loopback stand-in for the two credential endpoints mod_dosificador reads:
// EC2 instance metadata (IMDSv2: token PUT first, 401 without it) and the
// ECS/EKS container endpoint (checks Authorization). Every credential set it
// hands out is new (a serial in the keys), so a refresh is visible.
//
//   node t/creds/server.js [--port N] [--stdin-exit]
// prints "PORT <endpoints> <control>" once listening on two 127.0.0.1 ports:
// the endpoints' port counts only the provider's connections and requests;
// the control port is the test's. With --stdin-exit it stops when its
// standard input closes (the test that started it is gone).
//
// Control port (JSON): GET /_control/state -> {counts, config, last}
//                 POST /_control/set {key: value...}; POST /_control/reset
// config: expiresIn (s, default 3600), delayMs (before a credentials answer),
//         imdsStatus / containerStatus (answer this status instead),
//         hangToken (never answer the token PUT), role, auth (expected
//         Authorization), fractional (Expiration with milliseconds).
'use strict';
const http = require('http');
const crypto = require('crypto');

const args = process.argv.slice(2);
const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 0;

const defaults = {
  expiresIn: 3600, delayMs: 0, imdsStatus: 0, containerStatus: 0, hangToken: false,
  role: 'dsf-test-role', auth: 'test-container-auth', fractional: false,
};
let config = { ...defaults };
let counts, last, serial = 0;
const tokens = new Set();
function reset() {
  counts = { connections: 0, requests: 0, tokenPut: 0, roleList: 0, imdsCreds: 0,
             container: 0, unauthorized: 0 };
  last = {};
}
reset();

function iso(ms) {
  const s = new Date(ms).toISOString();
  return config.fractional ? s : s.replace(/\.\d{3}Z$/, 'Z');
}

function issue(kind) {
  serial++;
  const exp = Date.now() + config.expiresIn * 1000;
  const c = {
    AccessKeyId: `ASIA${kind}${String(serial).padStart(8, '0')}`,
    SecretAccessKey: `${kind.toLowerCase()}-secret-${serial}-${crypto.randomBytes(6).toString('hex')}`,
    Token: `${kind.toLowerCase()}-token-${serial}`,
    Expiration: iso(exp),
  };
  last = { kind, akid: c.AccessKeyId, expiresMs: Math.floor(exp / 1000) * 1000 };
  return c;
}

function send(res, status, body, type) {
  res.writeHead(status, { 'Content-Type': type || 'text/plain' });
  res.end(body);
}

function later(fn) {
  if (config.delayMs > 0) setTimeout(fn, config.delayMs); else fn();
}

const control = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; if (body.length > 65536) req.destroy(); });
  req.on('end', () => {
    const url = req.url;
    if (url === '/_control/state')
      return send(res, 200, JSON.stringify({ counts, config, last }), 'application/json');
    if (url === '/_control/reset' && req.method === 'POST') {
      reset(); config = { ...defaults };
      return send(res, 200, '{}', 'application/json');
    }
    if (url === '/_control/set' && req.method === 'POST') {
      try { Object.assign(config, JSON.parse(body)); } catch (e) { return send(res, 400, 'bad json'); }
      return send(res, 200, JSON.stringify(config), 'application/json');
    }
    send(res, 404, 'no such control');
  });
});

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    counts.requests++;
    const url = req.url;
    const prefix = '/latest/meta-data/iam/security-credentials/';

    if (url === '/latest/api/token') {
      if (req.method !== 'PUT') return send(res, 405, 'PUT only');
      counts.tokenPut++;
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return send(res, 400, 'bad ttl');
      if (config.hangToken) return;            // never answers: the client must time out
      const t = 'imds-session-' + crypto.randomBytes(12).toString('hex');
      tokens.add(t);
      return send(res, 200, t);
    }

    if (url.startsWith(prefix)) {
      if (req.method !== 'GET') return send(res, 405, 'GET only');
      if (!tokens.has(req.headers['x-aws-ec2-metadata-token'])) {
        counts.unauthorized++;
        return send(res, 401, 'Unauthorized');
      }
      const role = url.slice(prefix.length);
      if (role === '') {
        counts.roleList++;
        return send(res, 200, config.role + '\n');
      }
      counts.imdsCreds++;
      if (role !== config.role) return send(res, 404, 'Not Found');
      return later(() => {
        if (config.imdsStatus) return send(res, config.imdsStatus, 'failing on purpose');
        const c = issue('IMDS');
        send(res, 200, JSON.stringify({ Code: 'Success', LastUpdated: iso(Date.now()),
                                         Type: 'AWS-HMAC', ...c }, null, 2), 'text/plain');
      });
    }

    if (url.startsWith('/container/')) {
      if (req.method !== 'GET') return send(res, 405, 'GET only');
      counts.container++;
      if (req.headers['authorization'] !== config.auth) {
        counts.unauthorized++;
        return send(res, 401, JSON.stringify({ message: 'bad authorization' }), 'application/json');
      }
      return later(() => {
        if (config.containerStatus) return send(res, config.containerStatus, 'failing on purpose');
        send(res, 200, JSON.stringify(issue('CONT')), 'application/json');
      });
    }
    send(res, 404, 'Not Found');
  });
});
server.on('connection', () => { counts.connections++; });
server.listen(port, '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    process.stdout.write(`PORT ${server.address().port} ${control.address().port}\n`);
  });
});
if (args.includes('--stdin-exit')) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
