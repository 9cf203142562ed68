#!/usr/bin/env node
'use strict';
// A bounded POST client: exactly --count requests of --body-file to --url,
// --concurrency at a time over kept connections. Prints one JSON line with
// the count, the statuses seen and the time taken.
const fs = require('fs');
const http = require('http');

const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const url = new URL(a.url);
const body = fs.readFileSync(a['body-file']);
const count = Number(a.count || 100);
const lanes = Math.min(Number(a.concurrency || 1), count);
const agent = new http.Agent({ keepAlive: true, maxSockets: lanes });
const statuses = {};
let next = 0;

function one() {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => { statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1; resolve(); });
    });
    req.on('error', reject);
    req.setTimeout(Number(a.timeout || 120000), () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

(async () => {
  const t0 = Date.now();
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < count) { next++; await one(); }
  }));
  agent.destroy();
  process.stdout.write(JSON.stringify({ count, statuses, ms: Date.now() - t0 }) + '\n');
})().catch((e) => { process.stderr.write(`post.js: ${e.message}\n`); process.exit(1); });
