#!/usr/bin/env node
// Differential test: the C signer (through t/sigv4/sign_driver.c) against the
// AWS SDK for JavaScript's signer, @smithy/signature-v4, on generated
// requests. Both must produce the same Authorization header for every one.
//
//   node t/sigv4/diff.js BUILD/sigv4/sign_driver
//   env: SIGV4_DIFF_SEED (default 20150830), SIGV4_DIFF_COUNT (default 1200)
//
// TAP: one test per batch of 100 requests, every mismatch printed with its
// request; a final test proves the comparison can tell signatures apart.
'use strict';
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');
const { createRequire } = require('module');
const rigRequire = createRequire(path.resolve(__dirname, '../rig/package.json'));
const { SignatureV4 } = rigRequire('@smithy/signature-v4');
const { HttpRequest } = rigRequire('@smithy/protocol-http');
const { Sha256 } = rigRequire('@aws-crypto/sha256-js');

const driver = process.argv[2];
if (!driver) {
  console.error('usage: diff.js SIGN_DRIVER');
  process.exit(2);
}
const SEED = Number(process.env.SIGV4_DIFF_SEED || 20150830) >>> 0;
const COUNT = Number(process.env.SIGV4_DIFF_COUNT || 1200);
const BATCH = 100;

// mulberry32: small, deterministic, good enough to spread cases.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(SEED);
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;
const chars = (alphabet, n) => Array.from({ length: n }, () => pick(alphabet)).join('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const strictEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g,
  (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

// --- what varies -----------------------------------------------------------
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'];
const REGIONS = ['us-east-1', 'eu-west-1', 'eu-south-2', 'ap-southeast-2', 'sa-east-1',
  'us-gov-west-1', 'cn-north-1', 'me-central-1'];
const SERVICES = ['sqs', 'lambda', 'execute-api', 'sts', 'dynamodb', 'service', 'monitoring'];
const HOSTS = ['sqs.us-east-1.amazonaws.com', 'lambda.eu-west-1.amazonaws.com',
  'example.amazonaws.com', '127.0.0.1', 'localhost', 'sqs.us-east-1.localhost', '[::1]'];
const SEGMENTS = ['queue', '000000000000', '2015-03-31', 'functions', 'invocations',
  'my-queue.fifo', 'a_b~c', 'UPPER', '-._~', // plain
  'a:b', 'x@y', "!$&'()*+,;=", 'semi;colon', 'eq=ual', 'plus+sign', 'comma,list',
  'back\\slash', 'quote"d', '<angle>', '{brace}|pipe^', 'grave`', // reserved / unsafe
  'é', 'ሴ', '日本語', '😀', 'Ünïcödé', 'with space', // non-ASCII, space
  '%20', 'a%2Fb', '100%25', '50%', '%3a', '%E1%88%B4', // already encoded, or a bare %
  '.', '..', '...', '.hidden', '', // dot and empty segments
];
const QKEYS = ['Action', 'Version', 'a', 'A', 'b', 'dup', 'key with space', 'ключ',
  'x-amz-meta', '*', 'a+b', 'k%', 'Param-3', 'Param', 'ሴ', 'z~._-', 'slash/key', 'q?'];
const QVALUES = ['', 'value', '1', 'a b', 'a+b', 'é', '=', '&', '/', '~-._', "!*'()",
  'x'.repeat(300), 'SendMessage', '2012-11-05', 'ሴ', '😀', '%', '#frag', 'a=b=c'];
const HEADER_NAMES = ['X-Amz-Target', 'Content-Type', 'Content-Length', 'X-Amz-Meta-Foo',
  'My-Header', 'x-custom', 'Accept', 'X-Amz-Invocation-Type', 'X-Amz-Client-Context',
  'X-Amzn-Query-Mode', 'X-Amz-Log-Type', 'Content-Encoding', 'If-Match', 'x-a', 'x-b',
  'X_Under_Score', "x-tchar!#$%&'*+.^`|~"];
const HEADER_VALUES = ['AmazonSQS.SendMessageBatch', 'application/x-amz-json-1.0',
  'application/json', '"a   b   c"', 'Event', 'true', '', 'value1,value2', 'é ሴ',
  'x'.repeat(2000), 'tab\there', '\u00a0nbsp\u00a0', '12345'];

function mixCase(s) {
  return s.replace(/[a-zA-Z]/g, (c) => (chance(0.5) ? c.toUpperCase() : c.toLowerCase()));
}
function spaced(v) {
  const ws = () => chars([' ', ' ', '\t'], int(1, 4));
  if (chance(0.3)) v = v.split(' ').join(ws());
  if (chance(0.3)) v = ws() + v;
  if (chance(0.3)) v = v + ws();
  return v;
}

function genPath(service) {
  if (service === 'lambda' && chance(0.5)) {
    // As the SDK puts a function named by ARN (with or without qualifier) in the path.
    const arn = `arn:aws:lambda:${pick(REGIONS)}:${chars('0123456789', 12)}:function:`
      + pick(['receptor', 'my-fn', 'fn_1']) + pick(['', ':$LATEST', ':prod', ':7']);
    return `/2015-03-31/functions/${strictEncode(arn)}/invocations`;
  }
  if (chance(0.1)) return '/';
  const n = int(1, 6);
  const segs = Array.from({ length: n }, () => pick(SEGMENTS));
  return '/' + segs.join('/') + (chance(0.3) ? '/' : '');
}

// Returns [urlQueryString, smithyQueryObject].
function genQuery() {
  if (chance(0.35)) return ['', {}];
  const pairs = [];
  const n = int(1, 7);
  for (let i = 0; i < n; i++) {
    const k = chance(0.03) ? '' : (chance(0.2) && pairs.length ? pick(pairs)[0] : pick(QKEYS));
    let v = chance(0.15) ? null : pick(QVALUES); // null: "k" with no '='
    if (k === '' && v === null) v = 'x';
    pairs.push([k, v]);
  }
  const encode = (s, isValue) => {
    const style = int(0, 3);
    let e = strictEncode(s);
    if (style === 1) { // lenient: sub-delims left as they are, as many clients do
      e = e.replace(/%(3A|40|21|24|27|28|29|2A|2C|3B|2F|3F)/g, (m) => decodeURIComponent(m));
      if (isValue) e = e.replace(/%3D/g, '=');
      e = e.replace(/%2B/g, '+');
    }
    else if (style === 2) { // lowercase hex
      e = e.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    }
    else if (style === 3) { // raw UTF-8
      e = e.replace(/(%[89A-F][0-9A-F])+/g, (m) => {
        try { return decodeURIComponent(m); } catch (err) { return m; }
      });
    }
    return e;
  };
  const qs = pairs.map(([k, v]) => (v === null ? encode(k, false) : `${encode(k, false)}=${encode(v, true)}`)).join('&');
  const obj = {};
  for (const [k, v0] of pairs) {
    const v = v0 === null ? '' : v0;
    if (!(k in obj)) obj[k] = v;
    else if (Array.isArray(obj[k])) obj[k].push(v);
    else obj[k] = [obj[k], v];
  }
  return [qs, obj];
}

function genBody() {
  const r = rnd();
  if (r < 0.35) return Buffer.alloc(0);
  if (r < 0.65) {
    return Buffer.from(JSON.stringify({ QueueUrl: 'http://sqs.us-east-1.localhost/000000000000/q',
      Entries: Array.from({ length: int(1, 10) }, (_, i) => ({ Id: String(i), MessageBody: pick(QVALUES) })) }));
  }
  if (r < 0.85) return Buffer.from(Array.from({ length: int(1, 4096) }, () => int(0, 255)));
  if (r < 0.97) return Buffer.alloc(int(10000, 100000), int(0, 255));
  const big = Buffer.alloc(int(256 * 1024, 2 * 1024 * 1024));
  for (let i = 0; i < big.length; i += 4096) big[i] = int(0, 255);
  return big;
}

let ctx = null;
function genContext() {
  // Often keep the previous context, so the C signer's key cache is both
  // reused and invalidated (day, region, service, secret) along the way.
  if (ctx && chance(0.6)) {
    if (chance(0.15)) ctx = { ...ctx, secret: chars(B64, 40) };     // rotated secret
    else if (chance(0.15)) ctx = { ...ctx, time: ctx.time + 86400 }; // next day
    return ctx;
  }
  const session = chance(0.4);
  const day = int(10957, 24836); // 2000-01-01 .. 2037-12-31, in days
  const sec = pick([0, 1, 86399, 86398, int(0, 86399), int(0, 86399)]);
  ctx = {
    akid: (session ? 'ASIA' : 'AKIA') + chars(UPPER, 16),
    secret: chars(B64, 40),
    token: session ? chars(B64, int(100, 1200)) + pick(['', '=', '==']) : null,
    region: pick(REGIONS),
    service: pick(SERVICES),
    time: day * 86400 + sec,
  };
  return ctx;
}

function genRequest(id) {
  const c = genContext();
  const scheme = pick(['https', 'https', 'http']);
  const host = pick(HOSTS);
  const port = pick([null, null, scheme === 'https' ? 443 : 80, int(1, 65535), 9324, 3002]);
  const hostHeader = host + (port && port !== (scheme === 'https' ? 443 : 80) ? `:${port}` : '');
  const p = genPath(c.service);
  const [qs, query] = genQuery();
  const url = `${scheme}://${host}${port ? `:${port}` : ''}${p}${qs ? `?${qs}` : ''}`
    + (chance(0.05) ? '#fragment' : '');
  const headers = [];
  const seen = new Set(['host']);
  if (chance(0.5)) headers.push([pick(['Host', 'host', 'HOST']), hostHeader]);
  for (let i = int(0, 8); i > 0; i--) {
    const name = mixCase(pick(HEADER_NAMES));
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    headers.push([name, spaced(pick(HEADER_VALUES))]);
  }
  return { id, ...c, method: pick(METHODS), url, path: p, query, host, port, scheme,
    hostHeader, headers, body: genBody() };
}

// --- the two signers ---------------------------------------------------------
const hex = (s) => (s.length ? Buffer.from(s).toString('hex') : '.');
function driverLine(r) {
  return [String(r.id), hex(r.akid), hex(r.secret), r.token === null ? '-' : hex(r.token),
    hex(r.region), hex(r.service), String(r.time), hex(r.method), hex(r.url),
    r.body.length ? r.body.toString('hex') : '.',
    ...r.headers.flatMap(([n, v]) => [hex(n), hex(v)])].join('\t') + '\n';
}

async function smithySign(r) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: r.akid, secretAccessKey: r.secret,
      ...(r.token ? { sessionToken: r.token } : {}) },
    region: r.region, service: r.service, sha256: Sha256,
    applyChecksum: false, uriEscapePath: true,
  });
  const headers = { host: r.hostHeader };
  for (const [n, v] of r.headers) if (n.toLowerCase() !== 'host') headers[n] = v;
  const req = new HttpRequest({ method: r.method, protocol: `${r.scheme}:`, hostname: r.host,
    port: r.port || undefined, path: r.path, query: r.query, headers,
    body: r.body.length ? r.body : (r.id % 2 ? undefined : r.body) });
  const signed = await signer.sign(req, { signingDate: new Date(r.time * 1000) });
  return signed.headers.authorization;
}

function runDriver(lines) {
  return new Promise((resolve, reject) => {
    const child = spawn(driver, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out = new Map();
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [id, auth, host] = buf.slice(0, nl).split('\t');
        out.set(Number(id), { auth, host });
        buf = buf.slice(nl + 1);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`driver exited ${code}`))));
    (async () => {
      for (const l of lines) {
        if (!child.stdin.write(l)) await new Promise((res) => child.stdin.once('drain', res));
      }
      child.stdin.end();
    })();
  });
}

function describe(r) {
  const b = r.body;
  return JSON.stringify({ ...r, body: b.length <= 256 ? b.toString('latin1')
    : { length: b.length, sha256: crypto.createHash('sha256').update(b).digest('hex') } });
}

(async () => {
  const t0 = Date.now();
  const reqs = Array.from({ length: COUNT }, (_, i) => genRequest(i));
  const cOut = await runDriver(reqs.map(driverLine));
  let n = 0, bad = 0;
  const nbatches = Math.ceil(COUNT / BATCH);
  console.log(`1..${nbatches + 1}`);
  console.log(`# seed ${SEED}, ${COUNT} requests`);
  for (let b = 0; b < nbatches; b++) {
    const diags = [];
    for (const r of reqs.slice(b * BATCH, (b + 1) * BATCH)) {
      const want = await smithySign(r);
      const got = cOut.get(r.id);
      n++;
      if (!got || got.auth !== want || got.host !== r.hostHeader) {
        bad++;
        diags.push(`# MISMATCH request ${r.id}: ${describe(r)}`,
          `#   sdk:   ${want}`, `#   C:     ${got ? got.auth : '(no answer)'}`,
          `#   host:  sdk ${r.hostHeader}  C ${got ? got.host : ''}`);
      }
    }
    console.log(`${diags.length ? 'not ok' : 'ok'} ${b + 1} - requests ${b * BATCH}..${Math.min(COUNT, (b + 1) * BATCH) - 1}: C and SDK agree`);
    for (const d of diags) console.log(d);
  }
  // The comparison is not vacuous: ':' and its encoding '%3A' in a path are
  // different requests and must sign differently, in both signers.
  const a = { ...reqs[0], id: 0, url: 'https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/arn%3Aaws/invocations',
    path: '/2015-03-31/functions/arn%3Aaws/invocations', host: 'lambda.us-east-1.amazonaws.com',
    hostHeader: 'lambda.us-east-1.amazonaws.com', scheme: 'https', port: null, query: {}, headers: [] };
  const b2 = { ...a, id: 1, url: a.url.replace('%3A', ':'), path: a.path.replace('%3A', ':') };
  const cc = await runDriver([driverLine(a), driverLine(b2)]);
  const [sa, sb] = [await smithySign(a), await smithySign(b2)];
  const distinct = sa !== sb && cc.get(0).auth === sa && cc.get(1).auth === sb;
  console.log(`${distinct ? 'ok' : 'not ok'} ${nbatches + 1} - ':' and '%3A' in a path sign differently, identically in C and SDK`);
  console.log(`# ${n} requests compared, ${bad} mismatches, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exitCode = bad || !distinct ? 1 : 0;
})().catch((e) => {
  console.log(`not ok - ${e.stack.split('\n').join('\n# ')}`);
  process.exitCode = 1;
});
