#!/usr/bin/env node
'use strict';
// Shows the receptor's records as they arrive, grouped per tick.
//   node t/rig/watch.js --file RECEPTOR_OUT --fn receptor-run --expect 30 --seconds 40
// Exits once --expect objects arrived and one more window passed quietly,
// or after --seconds.
const fs = require('fs');

const a = {};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const file = a.file;
const fn = a.fn;
const expect = Number(a.expect || 0);
const seconds = Number(a.seconds || 40);
const windowMs = Number(a.window || 3000);

const t0 = Date.now();
let offset = 0;
let total = 0;
let tick = null; // { at, invocations, objects }
let ticks = 0;
let lastAt = 0;

function hhmmss(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

function describe(obj) {
  if (obj && typeof obj === 'object' && 'id' in obj) return `#${obj.id}`;
  return JSON.stringify(obj).slice(0, 20);
}

function objectsOf(ev) {
  if (Array.isArray(ev)) return ev;
  if (ev && Array.isArray(ev.Records)) return ev.Records.map((r) => JSON.parse(r.body));
  return [];
}

function poll() {
  let buf = '';
  try {
    const st = fs.statSync(file);
    if (st.size > offset) {
      const fd = fs.openSync(file, 'r');
      const b = Buffer.alloc(st.size - offset);
      fs.readSync(fd, b, 0, b.length, offset);
      fs.closeSync(fd);
      buf = b.toString();
    }
  } catch (e) { /* not there yet */ }
  const end = buf.lastIndexOf('\n');
  if (end >= 0) {
    offset += Buffer.byteLength(buf.slice(0, end + 1));
    for (const line of buf.slice(0, end + 1).split('\n')) {
      if (!line.trim()) continue;
      const rec = JSON.parse(line);
      if (fn && rec.fn !== fn) continue;
      const objs = objectsOf(rec.event);
      if (!tick || rec.receivedAt - tick.at > windowMs / 2) {
        ticks++;
        tick = { at: rec.receivedAt, invocations: 0, objects: 0 };
        process.stdout.write(`\ntick ${ticks} at ${hhmmss(rec.receivedAt)}\n`);
      }
      tick.invocations++;
      tick.objects += objs.length;
      total += objs.length;
      lastAt = Date.now();
      process.stdout.write(`  invocation ${tick.invocations}: ${objs.length} objects  ${objs.map(describe).join(' ')}` +
                           `   (${total}${expect ? `/${expect}` : ''} delivered)\n`);
    }
  }
  const done = expect && total >= expect && Date.now() - lastAt > windowMs + 500;
  if (done || Date.now() - t0 > seconds * 1000) {
    process.stdout.write(`\n${total} objects delivered in ${ticks} ticks` +
                         (expect && total < expect ? ` (expected ${expect}: stopped after ${seconds} s)` : '') + '\n');
    process.exit(expect && total < expect ? 1 : 0);
  }
  setTimeout(poll, 100);
}
poll();
