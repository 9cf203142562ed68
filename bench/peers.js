#!/usr/bin/env node
'use strict';
// The peers the module is measured against, and queue chores for the bench,
// all with the AWS SDK for JavaScript v3 (@aws-sdk/client-sqs of t/rig).
//
//   node bench/peers.js seed    --endpoint URL --queue URL --body-file F --seconds S [--warmup S]
//       the seed's producer shape: one awaited SendMessage per object
//   node bench/peers.js batch   --endpoint URL --queue URL --body-file F --seconds S [--warmup S] [--inflight 16]
//       the SDK's best shape: SendMessageBatch of 10, 16 calls in flight
//   node bench/peers.js preload --endpoint URL --queue URL --body-file F --count N
//   node bench/peers.js purge   --endpoint URL --queue URL
//   node bench/peers.js depth   --endpoint URL --queue URL
// Prints one JSON line. Credentials and region: DSF_AKID, DSF_SECRET, DSF_REGION.
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const rigRequire = createRequire(path.join(__dirname, '..', 't', 'rig', 'package.json'));
const {
  SQSClient, SendMessageCommand, SendMessageBatchCommand, PurgeQueueCommand,
  GetQueueAttributesCommand,
} = rigRequire('@aws-sdk/client-sqs');

function parse(argv) {
  const a = { cmd: argv[2] };
  for (let i = 3; i < argv.length; i += 2) a[argv[i].replace(/^--/, '')] = argv[i + 1];
  return a;
}

function client(endpoint) {
  return new SQSClient({
    region: process.env.DSF_REGION || 'us-east-1',
    endpoint,
    credentials: {
      accessKeyId: process.env.DSF_AKID || 'AKIDEXAMPLE',
      secretAccessKey: process.env.DSF_SECRET || 'secret',
    },
  });
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

// Runs `worker` in `lanes` parallel loops until `until`; each call returns the
// number of objects it stored. Returns the total stored.
async function loop(lanes, until, worker) {
  let total = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (now() < until) {
      const n = await worker(); // not `total += await ...`: that reads total before the await
      total += n;
    }
  }));
  return total;
}

function batchWorker(c, queue, body) {
  const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: body }));
  return async () => {
    const r = await c.send(new SendMessageBatchCommand({ QueueUrl: queue, Entries: entries }));
    if (r.Failed && r.Failed.length) throw new Error(`SendMessageBatch: ${r.Failed.length} failed: ${r.Failed[0].Code}`);
    return (r.Successful || []).length;
  };
}

async function timed(a, lanes, worker) {
  const warm = Number(a.warmup || 1);
  if (warm > 0) await loop(lanes, now() + warm, worker);
  const t0 = now();
  const objects = await loop(lanes, t0 + Number(a.seconds || 10), worker);
  const seconds = now() - t0;
  return { objects, seconds, rate: objects / seconds };
}

async function main() {
  const a = parse(process.argv);
  const c = client(a.endpoint);
  const body = a['body-file'] ? fs.readFileSync(a['body-file'], 'utf8').trim() : '{}';
  let out;
  switch (a.cmd) {
    case 'seed':
      out = await timed(a, 1, async () => {
        await c.send(new SendMessageCommand({ QueueUrl: a.queue, MessageBody: body }));
        return 1;
      });
      break;
    case 'batch':
      out = await timed(a, Number(a.inflight || 16), batchWorker(c, a.queue, body));
      break;
    case 'preload': {
      const want = Number(a.count);
      const entries = (n) => Array.from({ length: n }, (_, i) => ({ Id: `e${i}`, MessageBody: body }));
      let next = 0, stored = 0;
      const t0 = now();
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < want) {
          const n = Math.min(10, want - next);
          next += n;
          const r = await c.send(new SendMessageBatchCommand({ QueueUrl: a.queue, Entries: entries(n) }));
          if (r.Failed && r.Failed.length) throw new Error(`preload: ${r.Failed.length} failed`);
          stored += (r.Successful || []).length;
        }
      }));
      out = { stored, seconds: now() - t0 };
      break;
    }
    case 'purge':
      await c.send(new PurgeQueueCommand({ QueueUrl: a.queue }));
      out = { purged: a.queue };
      break;
    case 'depth': {
      const r = await c.send(new GetQueueAttributesCommand({
        QueueUrl: a.queue,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }));
      out = { visible: Number(r.Attributes.ApproximateNumberOfMessages),
              inflight: Number(r.Attributes.ApproximateNumberOfMessagesNotVisible) };
      break;
    }
    default:
      throw new Error(`peers.js: unknown command ${a.cmd}`);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`peers.js: ${e.name || 'Error'}: ${e.message}\n`);
  process.exit(1);
});
