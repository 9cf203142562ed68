#!/usr/bin/env node
// Self-test of t/rig/gate.js: the gate in front of a tiny loopback upstream;
// requests signed by the C signer (t/sigv4/sign_driver.c --headers) must pass
// and reach the upstream unchanged; tampered, unsigned, stale or foreign ones
// must get AWS's 403 and never reach it. TAP.
//
//   node t/sigv4/gate-test.js BUILD/sigv4/sign_driver
'use strict';
const http = require('http');
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');

const driver = process.argv[2];
if (!driver) {
  console.error('usage: gate-test.js SIGN_DRIVER');
  process.exit(2);
}
const GATE = path.resolve(__dirname, '../rig/gate.js');
const AKID = 'AKIDGATETEST0000001';
const SECRET = 'gateTestSecretKey/0123456789+abcdefghijk';
const TOKEN = 'FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE+token=';

let n = 0, failed = 0;
function ok(pass, name, diag) {
  n++;
  console.log(`${pass ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!pass) {
    failed++;
    if (diag) console.log(`#   ${String(diag).split('\n').join('\n#   ')}`);
  }
  return pass;
}

// --- the upstream: answers with what it received ------------------------------
const seen = [];
const upstream = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seen.push({ url: req.url, headers: req.rawHeaders });
    let out = JSON.stringify({ method: req.method, url: req.url, length: body.length,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
      target: req.headers['x-amz-target'] || null });
    if (req.headers['x-amz-target'] === 'AmazonSQS.SendMessage') { // what the SDK client checks
      const msg = JSON.parse(body).MessageBody;
      out = JSON.stringify({ MessageId: crypto.randomUUID(),
        MD5OfMessageBody: crypto.createHash('md5').update(msg).digest('hex') });
    }
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'X-Upstream': 'yes' });
    res.end(out);
  });
});

// --- helpers -------------------------------------------------------------------
const children = [];
process.on('exit', () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); });

function startGate(args) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [GATE, '--listen', '0', '--access-key', AKID,
      '--secret', SECRET, '--quiet', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
      const m = /^listening (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    c.on('exit', (code) => reject(new Error(`gate exited ${code} before listening`)));
    setTimeout(() => reject(new Error('gate did not say listening within 10 s')), 10000).unref();
  });
}

const hex = (s) => (s.length ? Buffer.from(s).toString('hex') : '.');
const unhex = (s) => (s === '.' ? '' : Buffer.from(s, 'hex').toString('latin1'));

// Signs requests with the C signer; returns, per request, the headers to send.
function cSign(reqs) {
  return new Promise((resolve, reject) => {
    const c = spawn(driver, ['--headers'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('error', reject);
    c.on('close', () => {
      const res = [];
      for (const line of out.split('\n').filter(Boolean)) {
        const f = line.split('\t');
        if (f[1] === 'ERROR') return reject(new Error(`driver: ${line}`));
        const h = [];
        for (let i = 2; i + 1 < f.length; i += 2) h.push([unhex(f[i]), unhex(f[i + 1])]);
        res[Number(f[0])] = h;
      }
      resolve(res);
    });
    reqs.forEach((r, i) => c.stdin.write([i, hex(AKID), hex(r.secret || SECRET),
      r.token ? hex(r.token) : '-', hex(r.region || 'us-east-1'), hex(r.service),
      Math.floor((r.time || Date.now()) / 1000), hex(r.method || 'POST'), hex(r.url),
      r.body && r.body.length ? Buffer.from(r.body).toString('hex') : '.',
      ...(r.headers || []).flatMap(([k, v]) => [hex(k), hex(v)])].join('\t') + '\n'));
    c.stdin.end();
  });
}

function send(port, r, headers, agent) {
  const target = r.url.replace(/^http:\/\/[^/]+/, ''); // as signed: no URL normalisation
  return new Promise((resolve, reject) => {
    const rq = http.request({ host: '127.0.0.1', port, method: r.method || 'POST',
      path: target, agent: agent || false });
    // Raw header list, so duplicates and case go out exactly as signed.
    const mine = new Set(); // the first of a name replaces Node's default (Host)
    for (const [k, v] of headers) {
      const prev = mine.has(k.toLowerCase()) ? rq.getHeader(k) : undefined;
      rq.setHeader(k, prev === undefined ? v : [].concat(prev, v));
      mine.add(k.toLowerCase());
    }
    rq.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString() }));
    });
    rq.on('error', reject);
    rq.end(r.body || undefined);
  });
}

const json = (s) => { try { return JSON.parse(s); } catch (e) { return null; } };
const stats = (port) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path: '/__gate/stats' }, (res) => {
    let b = '';
    res.on('data', (d) => { b += d; });
    res.on('end', () => resolve(JSON.parse(b)));
  }).on('error', reject);
});
const corrupt = (headers) => headers.map(([k, v]) => (k === 'Authorization'
  ? [k, v.replace(/Signature=([0-9a-f])/, (m, c) => `Signature=${c === '0' ? '1' : '0'}`)] : [k, v]));

// --- the tests ---------------------------------------------------------------
(async () => {
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const up = `http://127.0.0.1:${upstream.address().port}`;
  const [sqsPort, lambdaPort, tokenPort] = await Promise.all([
    startGate(['--upstream', up, '--service', 'sqs', '--region', 'us-east-1']),
    startGate(['--upstream', up, '--service', 'lambda']),
    startGate(['--upstream', up, '--service', 'sqs', '--token', TOKEN]),
  ]);
  const sqsUrl = `http://127.0.0.1:${sqsPort}/`;
  const sendBody = JSON.stringify({ QueueUrl: 'http://sqs.us-east-1.localhost/000000000000/q',
    Entries: [{ Id: '1', MessageBody: '{"a":"é"}' }] });
  const sqsReq = { service: 'sqs', url: sqsUrl, body: sendBody, headers: [
    ['X-Amz-Target', 'AmazonSQS.SendMessageBatch'], ['Content-Type', 'application/x-amz-json-1.0']] };

  // 1. signed by the C signer: through, unchanged
  let [h] = await cSign([sqsReq]);
  let r = await send(sqsPort, sqsReq, h);
  let echo = json(r.body);
  ok(r.status === 200 && r.headers['x-upstream'] === 'yes', 'SQS request signed by the C signer is forwarded', `${r.status} ${r.body}`);
  ok(echo && echo.sha256 === crypto.createHash('sha256').update(sendBody).digest('hex')
     && echo.target === 'AmazonSQS.SendMessageBatch' && echo.url === '/', 'upstream got the request unchanged', r.body);

  // 2. one signature digit changed: AWS's JSON-protocol 403, never forwarded
  const before = seen.length;
  r = await send(sqsPort, sqsReq, corrupt(h));
  let e = json(r.body);
  ok(r.status === 403, 'corrupted signature: 403', `${r.status} ${r.body}`);
  ok(e && e.__type === 'com.amazon.coral.service#InvalidSignatureException'
     && /^The request signature we calculated does not match/.test(e.message)
     && r.headers['x-amzn-errortype'] === 'InvalidSignatureException'
     && r.headers['content-type'] === 'application/x-amz-json-1.0',
  'with the JSON protocol error shape and x-amzn-ErrorType', JSON.stringify(r.headers) + ' ' + r.body);
  ok(seen.length === before, 'and the upstream never saw it');

  // 3. body changed after signing
  r = await send(sqsPort, { ...sqsReq, body: sendBody.replace('é', 'e') }, h.filter(([k]) => k !== 'Content-Length'));
  ok(r.status === 403, 'body changed after signing: 403', r.body);

  // 4. Lambda: a function named by ARN in the path, REST-JSON error shape
  const arn = encodeURIComponent('arn:aws:lambda:us-east-1:123456789012:function:receptor');
  const lamReq = { service: 'lambda', url: `http://127.0.0.1:${lambdaPort}/2015-03-31/functions/${arn}/invocations`,
    body: '{"records":[]}', headers: [['X-Amz-Invocation-Type', 'Event'], ['Content-Type', 'application/json']] };
  [h] = await cSign([lamReq]);
  r = await send(lambdaPort, lamReq, h);
  echo = json(r.body);
  ok(r.status === 200 && echo && echo.url === `/2015-03-31/functions/${arn}/invocations`,
    'Lambda Invoke with an ARN in the path, signed by the C signer, is forwarded', `${r.status} ${r.body}`);
  r = await send(lambdaPort, lamReq, corrupt(h));
  e = json(r.body);
  ok(r.status === 403 && e && e.Type === 'User' && /does not match/.test(e.message)
     && r.headers['x-amzn-errortype'] === 'InvalidSignatureException',
  'Lambda corrupted signature: 403 with the REST-JSON shape', `${r.status} ${r.body}`);

  // 5. no Authorization, stale date, unknown key, wrong secret
  r = await send(sqsPort, sqsReq, h.filter(([k]) => k !== 'Authorization'));
  e = json(r.body);
  ok(r.status === 403 && e && e.__type.endsWith('#MissingAuthenticationTokenException'), 'no Authorization: 403', r.body);
  const [stale, foreign] = await Promise.all([
    cSign([{ ...sqsReq, time: Date.now() - 6 * 60 * 1000 }]),
    cSign([{ ...sqsReq, secret: 'not/the/gate/secret/at/all/xxxxxxxxxxxxx' }]),
  ]);
  r = await send(sqsPort, sqsReq, stale[0]);
  e = json(r.body);
  ok(r.status === 403 && e && e.__type.endsWith('#InvalidSignatureException') && /^Signature expired/.test(e.message),
    'signed 6 minutes ago: 403 Signature expired', r.body);
  const nearly = await cSign([{ ...sqsReq, time: Date.now() - 4 * 60 * 1000 }]);
  r = await send(sqsPort, sqsReq, nearly[0]);
  ok(r.status === 200, 'signed 4 minutes ago: still accepted', r.body);
  r = await send(sqsPort, sqsReq, foreign[0]);
  ok(r.status === 403 && json(r.body).__type.endsWith('#InvalidSignatureException'), 'signed with another secret: 403', r.body);
  r = await send(sqsPort, sqsReq, h.map(([k, v]) => [k, k === 'Authorization' ? v.replace(AKID, 'AKIDSOMEONEELSE0001') : v]));
  ok(r.status === 403 && json(r.body).__type.endsWith('#UnrecognizedClientException'), 'unknown access key: 403 UnrecognizedClient', r.body);

  // 6. session tokens: signed token passes; changed or unsigned token does not
  const tokReq = { ...sqsReq, url: `http://127.0.0.1:${tokenPort}/`, token: TOKEN };
  const [[th], [nt]] = await Promise.all([cSign([tokReq]), cSign([{ ...tokReq, token: null }])]);
  r = await send(tokenPort, tokReq, th);
  ok(r.status === 200, 'session token, signed: forwarded', r.body);
  ok(th.some(([k]) => k === 'X-Amz-Security-Token')
     && /SignedHeaders=[^,]*x-amz-security-token/.test(th.find(([k]) => k === 'Authorization')[1]),
  'the C signer signs X-Amz-Security-Token');
  r = await send(tokenPort, tokReq, th.map(([k, v]) => [k, k === 'X-Amz-Security-Token' ? `${v}x` : v]));
  ok(r.status === 403, 'token changed after signing: 403', r.body);
  r = await send(tokenPort, tokReq, [...nt, ['X-Amz-Security-Token', TOKEN]]);
  ok(r.status === 403 && /must be signed/.test(json(r.body).message), 'token sent but not signed: 403', r.body);
  r = await send(tokenPort, tokReq, nt);
  ok(r.status === 403 && json(r.body).__type.endsWith('#UnrecognizedClientException'), 'token missing where one is required: 403', r.body);

  // 7. path and query the hard way: reserved characters, repeated and empty keys
  const odd = { service: 'sqs', method: 'GET', url: `http://127.0.0.1:${sqsPort}/a:b/c%20d/./x/../%E1%88%B4/`
    + '?b=2&a=&a=1&flag&sp=a%20b&plus=a+b&lower=%7e%2a', headers: [['X-Dup', 'one'], ['x-dup', ' two  words '], ['X-Utf8', 'é ሴ']] };
  [h] = await cSign([odd]);
  r = await send(sqsPort, odd, h);
  ok(r.status === 200, 'dot segments, encoded path, repeated and empty query keys, duplicate and UTF-8 headers: forwarded', r.body);

  // 8. keep-alive, concurrency and bodies up to 2 MiB
  await new Promise((res) => http.request({ host: '127.0.0.1', port: sqsPort, method: 'POST', path: '/__gate/reset' }, (x) => { x.resume(); x.on('end', res); }).end());
  const sizes = Array.from({ length: 64 }, (_, i) => (i % 16 === 0 ? 2 * 1024 * 1024 : i * 997));
  const bodies = sizes.map((s, i) => crypto.createHash('sha256').update(String(i)).digest('hex').repeat(Math.ceil(s / 64) || 1).slice(0, s));
  const many = bodies.map((b, i) => ({ ...sqsReq, body: b, headers: [['X-Amz-Target', `AmazonSQS.${i % 2 ? 'SendMessageBatch' : 'ReceiveMessage'}`],
    ['Content-Type', 'application/x-amz-json-1.0']] }));
  const signedMany = await cSign(many);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const t0 = Date.now();
  const results = await Promise.all(many.map((m, i) => send(sqsPort, m, signedMany[i], agent)));
  agent.destroy();
  const intact = results.every((x, i) => x.status === 200
    && json(x.body).sha256 === crypto.createHash('sha256').update(bodies[i]).digest('hex'));
  ok(intact, `64 concurrent requests on 8 kept-alive connections, 4 of 2 MiB: all forwarded intact (${Date.now() - t0} ms)`,
    results.filter((x) => x.status !== 200).map((x) => x.body).slice(0, 3).join('\n'));
  const s = await stats(sqsPort);
  ok(s.connections <= 8, `connections reused: ${s.connections} for 64 requests`, JSON.stringify(s));
  ok(s.requests === 64 && s.outcomes.forwarded === 64 && s.actions.SendMessageBatch.forwarded === 32
     && s.actions.ReceiveMessage.forwarded === 32, '/__gate/stats counts by action and outcome', JSON.stringify(s));
  const l = await stats(lambdaPort);
  ok(l.outcomes.forwarded === 1 && l.outcomes.invalid_signature === 1
     && l.actions[`/2015-03-31/functions/${arn}/invocations`].forwarded === 1, 'Lambda gate counts by path', JSON.stringify(l));

  // 9. the AWS SDK's own clients: their requests pass, and they read the 403s
  //    as AWS's (the error name comes from the shape the gate answers with)
  process.removeAllListeners('warning'); // the SDK's Node version notice
  const { createRequire } = require('module');
  const rig = createRequire(path.resolve(__dirname, '../rig/package.json'));
  const { SQSClient, SendMessageCommand } = rig('@aws-sdk/client-sqs');
  const { LambdaClient, InvokeCommand } = rig('@aws-sdk/client-lambda');
  const creds = { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: TOKEN };
  const wrong = { ...creds, secretAccessKey: 'wrong/secret/for/the/sdk/xxxxxxxxxxxxxxxx' };
  const sdk = async (fn) => { try { return (await fn()).$metadata.httpStatusCode; } catch (err) { return err.name; } };
  const sqsAt = (port, c) => new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: c, maxAttempts: 1 });
  const lamAt = (port, c) => new LambdaClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: c, maxAttempts: 1 });
  const sendMsg = (c) => sdk(() => sqsAt(tokenPort, c).send(new SendMessageCommand({
    QueueUrl: `http://127.0.0.1:${tokenPort}/000000000000/q`, MessageBody: 'hello' })));
  const invoke = (c) => sdk(() => lamAt(lambdaPort, c).send(new InvokeCommand({
    FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:receptor', InvocationType: 'Event', Payload: Buffer.from('{}') })));
  let got = await sendMsg(creds);
  ok(got === 200, `SDK SQS SendMessage with a session token passes the gate (${got})`);
  got = await sendMsg(wrong);
  ok(got === 'InvalidSignatureException', `SDK SQS client reads the gate's 403 as InvalidSignatureException (${got})`);
  const lamCreds = { accessKeyId: AKID, secretAccessKey: SECRET };
  got = await invoke(lamCreds);
  ok(got === 200, `SDK Lambda Invoke by ARN passes the gate (${got})`);
  got = await invoke({ ...lamCreds, secretAccessKey: wrong.secretAccessKey });
  ok(got === 'InvalidSignatureException', `SDK Lambda client reads the gate's 403 as InvalidSignatureException (${got})`);
  const ts = await stats(tokenPort);
  ok(ts.actions.SendMessage && ts.actions.SendMessage.forwarded === 1 && ts.actions.SendMessage.invalid_signature === 1,
    'token gate saw the SDK SendMessage once forwarded, once refused', JSON.stringify(ts));

  console.log(`1..${n}`);
  upstream.close();
  process.exit(failed ? 1 : 0);
})().catch((err) => {
  ok(false, 'gate self-test ran to the end', err.stack);
  console.log(`1..${n}`);
  process.exit(1);
});
