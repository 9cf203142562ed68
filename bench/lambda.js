#!/usr/bin/env node
'use strict';
// A minimal stand-in for the Lambda Invoke API, as the tick's receptor: for an
// `Event` invocation it answers 202 as soon as the payload is read (as Lambda
// does once its own queue holds the event), and counts the objects it got.
// serverless-offline runs real handlers but cannot take a 1,000-invocation
// tick on this machine (its handlers time out and the process dies), so the
// tick is measured against this and the module's own cost is what shows.
//
//   node bench/lambda.js [--listen 0]          prints "listening PORT"
//   POST /2015-03-31/functions/NAME/invocations
//   GET  /__counts   {"NAME": {"invocations", "objects", "bytes", "first", "last"}}
//   POST /__reset
const http = require('http');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
let counts = Object.create(null);
let seq = 0;

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/__counts' || req.url === '/__reset') {
      const body = JSON.stringify(counts) + '\n';
      if (req.url === '/__reset') counts = Object.create(null);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url);
    if (req.method !== 'POST' || !m) {
      const body = JSON.stringify({ Type: 'User', message: 'unknown path' });
      res.writeHead(404, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ResourceNotFoundException',
        'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const name = decodeURIComponent(m[1]);
    const raw = Buffer.concat(chunks);
    let n = 0;
    try {
      const ev = JSON.parse(raw.toString('utf8'));
      n = Array.isArray(ev) ? ev.length : (ev && Array.isArray(ev.Records) ? ev.Records.length : 1);
    } catch (e) {
      n = 0;
    }
    const c = counts[name] || (counts[name] = { invocations: 0, objects: 0, bytes: 0, first: Date.now(), last: 0 });
    c.invocations++;
    c.objects += n;
    c.bytes += raw.length;
    c.last = Date.now();
    const id = `bench-${process.pid}-${++seq}`;
    if ((req.headers['x-amz-invocation-type'] || '').toLowerCase() === 'event') {
      res.writeHead(202, { 'x-amzn-RequestId': id, 'Content-Length': 0 });
      res.end();
    } else {
      const body = '{"ok":true}';
      res.writeHead(200, { 'x-amzn-RequestId': id, 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.end(body);
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(args.listen || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
