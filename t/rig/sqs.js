#!/usr/bin/env node
'use strict';
// The SDK warns that its 2027 releases will want Node 22: noise in test output.
process.removeAllListeners('warning');
process.on('warning', (w) => { if (w.name !== 'NodeVersionSupportWarning') process.stderr.write(`${w.name}: ${w.message}\n`); });
// A real SQS client for the tests: the official AWS SDK for JavaScript v3
// (@aws-sdk/client-sqs), talking straight to the emulator (not through the
// module's gate or fault proxy), so what it reads is what the module stored.
//
//   node t/rig/sqs.js receive --queue URL [--max 10] [--wait 1] [--visibility 30] [--all]
//        prints a JSON array of {MessageId, Body, MD5OfBody, Attributes}; --all keeps
//        receiving until a long poll comes back empty
//   node t/rig/sqs.js drain   --queue URL      receive --all, then delete what it got
//   node t/rig/sqs.js attrs   --queue URL      GetQueueAttributes All, as JSON
//   node t/rig/sqs.js purge   --queue URL
//   node t/rig/sqs.js send    --queue URL --body JSON
//   node t/rig/sqs.js sendbatch --queue URL --bodies JSON-ARRAY-OF-STRINGS
//   (--endpoint URL talks to another endpoint, e.g. through a fault proxy)
//
// Endpoint and credentials come from the rig's environment:
// DSF_FAUXQS_URL, DSF_AKID, DSF_SECRET, DSF_REGION.
const {
  SQSClient, ReceiveMessageCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand,
  PurgeQueueCommand, SendMessageCommand, SendMessageBatchCommand, CreateQueueCommand,
} = require('@aws-sdk/client-sqs');

function client(endpoint) {
  return new SQSClient({
    region: process.env.DSF_REGION || 'us-east-1',
    endpoint: endpoint || process.env.DSF_FAUXQS_URL,
    credentials: {
      accessKeyId: process.env.DSF_AKID || 'AKIDEXAMPLE',
      secretAccessKey: process.env.DSF_SECRET || 'secret',
    },
    maxAttempts: 1,
  });
}

async function receive(c, queue, { max = 10, wait = 1, visibility, all = false }) {
  const out = [];
  for (;;) {
    const want = Math.min(10, max - out.length);
    if (want <= 0) break;
    const r = await c.send(new ReceiveMessageCommand({
      QueueUrl: queue,
      MaxNumberOfMessages: want,
      WaitTimeSeconds: wait,
      VisibilityTimeout: visibility,
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }));
    const got = r.Messages || [];
    for (const m of got) {
      out.push({ MessageId: m.MessageId, Body: m.Body, MD5OfBody: m.MD5OfBody,
                 ReceiptHandle: m.ReceiptHandle, Attributes: m.Attributes || {} });
    }
    if (!all || got.length === 0) break;
  }
  return out;
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const a = {};
  for (let i = 0; i < rest.length; i++) {
    const k = rest[i].replace(/^--/, '');
    if (k === 'all') a.all = true;
    else a[k] = rest[++i];
  }
  const c = client(a.endpoint);
  let result;
  switch (cmd) {
    case 'receive':
      result = await receive(c, a.queue, {
        max: Number(a.max || (a.all ? 100000 : 10)), wait: Number(a.wait || 1),
        visibility: a.visibility !== undefined ? Number(a.visibility) : undefined, all: !!a.all,
      });
      break;
    case 'drain': {
      result = await receive(c, a.queue, { max: 100000, wait: Number(a.wait || 1), visibility: 60, all: true });
      for (let i = 0; i < result.length; i += 10) {
        await c.send(new DeleteMessageBatchCommand({
          QueueUrl: a.queue,
          Entries: result.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }));
      }
      break;
    }
    case 'attrs':
      result = (await c.send(new GetQueueAttributesCommand({ QueueUrl: a.queue, AttributeNames: ['All'] }))).Attributes;
      break;
    case 'purge':
      await c.send(new PurgeQueueCommand({ QueueUrl: a.queue }));
      result = { purged: a.queue };
      break;
    case 'send':
      result = await c.send(new SendMessageCommand({ QueueUrl: a.queue, MessageBody: a.body }));
      delete result.$metadata;
      break;
    case 'sendbatch':
      result = await c.send(new SendMessageBatchCommand({
        QueueUrl: a.queue,
        Entries: JSON.parse(a.bodies).map((b, i) => ({ Id: `e${i}`, MessageBody: b })),
      }));
      delete result.$metadata;
      break;
    case 'create': {
      const attrs = a.attributes ? JSON.parse(a.attributes) : undefined;
      result = await c.send(new CreateQueueCommand({ QueueName: a.name, Attributes: attrs }));
      delete result.$metadata;
      break;
    }
    default:
      throw new Error(`sqs.js: unknown command ${cmd}`);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

module.exports = { client, receive };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`sqs.js: ${e.name || 'Error'}: ${e.message}\n`);
    process.exit(1);
  });
}
