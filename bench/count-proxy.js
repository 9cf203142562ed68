#!/usr/bin/env node
'use strict';
// A counting proxy in front of fauxqs: forwards every request unchanged over
// kept connections and counts SQS JSON calls by X-Amz-Target action.
//
//   node bench/count-proxy.js --upstream http://127.0.0.1:PORT [--listen 0]
//   prints "listening PORT" once up.
//   GET  /__counts   {"SendMessageBatch": n, ...} since the last reset
//   POST /__reset    zeroes the counts, answers the counts it had
const http = require('http');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.upstream) {
  process.stderr.write('usage: count-proxy.js --upstream URL [--listen PORT]\n');
  process.exit(2);
}
const up = new URL(args.upstream);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
let counts = Object.create(null);

const server = http.createServer((req, res) => {
  if (req.url === '/__counts' || req.url === '/__reset') {
    const body = JSON.stringify(counts) + '\n';
    if (req.url === '/__reset') counts = Object.create(null);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    req.resume();
    return;
  }
  const target = req.headers['x-amz-target'] || '';
  const action = target.startsWith('AmazonSQS.') ? target.slice(10) : (target || `${req.method} ${req.url}`);
  counts[action] = (counts[action] || 0) + 1;
  const fwd = http.request({
    host: up.hostname, port: up.port, method: req.method, path: req.url,
    headers: req.headers, agent,
  }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  fwd.on('error', (e) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`count-proxy: ${e.message}\n`);
    } else {
      res.destroy();
    }
  });
  req.pipe(fwd);
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.listen(Number(args.listen || 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
