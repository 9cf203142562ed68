#!/usr/bin/env node
// The status page's Prometheus exposition, read by a real text-format parser
// (parse-prometheus-text-format) and checked line by line for what
// Prometheus itself insists on, then value by value against the numbers the
// slots were filled with.
//
//   node t/status/metrics.js FILE|URL [--expect expect.json] [--json FILE|URL]
//
// A URL is fetched with the Accept header Prometheus sends, so negotiation is
// tested too. --expect: the inputs (t/status/render.c writes them; a live
// test writes its own, any key may be left out). --json: the same page as
// JSON, whose numbers must agree with the metrics.
'use strict';
const path = require('path');
const { createRequire } = require('module');
const req = createRequire(path.join(__dirname, 'package.json'));
const parse = req('parse-prometheus-text-format');
const { ok, is, done, bail, args, load, isUrl } = require('./lib');

const opt = args('metrics.js FILE|URL [--expect expect.json] [--json FILE|URL]');
// What Prometheus 2.x sends when it scrapes.
const PROM_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;' +
  'version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const FAMILIES = {
  dosificador_objects_accepted_total: 'counter',
  dosificador_objects_rejected_total: 'counter',
  dosificador_sqs_calls_total: 'counter',
  dosificador_invocations_total: 'counter',
  dosificador_objects_delivered_total: 'counter',
  dosificador_objects_deleted_total: 'counter',
  dosificador_objects_released_total: 'counter',
  dosificador_ticks_total: 'counter',
  dosificador_tick_duration_seconds: 'histogram',
  dosificador_queue_messages: 'gauge',
  dosificador_queue_sampled_timestamp_seconds: 'gauge',
  dosificador_last_tick_timestamp_seconds: 'gauge',
  dosificador_next_tick_timestamp_seconds: 'gauge',
  dosificador_quota_per_minute: 'gauge',
  dosificador_quota_per_invocation: 'gauge',
  dosificador_quota_window_seconds: 'gauge',
};
const LE = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '+Inf'];
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// What the official parser refuses and this lenient one lets by: metadata
// before samples, one block per family, valid names, numbers, no duplicates.
function strict(text) {
  const problems = [], seen = new Set(), meta = {}, series = new Set();
  let current = null;
  const familyOf = (name) => {
    for (const suf of ['_bucket', '_sum', '_count'])
      if (name.endsWith(suf) && meta[name.slice(0, -suf.length)]?.type === 'histogram')
        return name.slice(0, -suf.length);
    return name;
  };
  if (!text.endsWith('\n')) problems.push('does not end with a newline');
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (!line) return;
    let m;
    if ((m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line))) {
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) problems.push(`bad metric name, ${where}`);
      if (current !== name && seen.has(name)) problems.push(`family split in two, ${where}`);
      current = name;
      seen.add(name);
      meta[name] = meta[name] || {};
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          problems.push(`bad type, ${where}`);
        if (meta[name].samples) problems.push(`TYPE after samples, ${where}`);
        meta[name].type = rest;
      } else {
        if (!rest) problems.push(`empty HELP, ${where}`);
        meta[name].help = rest;
      }
      return;
    }
    if (line.startsWith('#')) return;
    m = /^([^{ ]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) { problems.push(`unreadable sample, ${where}`); return; }
    const [, name, , labels = '', value] = m;
    const fam = familyOf(name);
    if (!meta[fam]?.type || !meta[fam]?.help) problems.push(`sample without HELP and TYPE first, ${where}`);
    if (fam !== current) problems.push(`sample outside its family's block, ${where}`);
    if (meta[fam]) meta[fam].samples = true;
    if (!/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|[+-]Inf|NaN)$/.test(value)) problems.push(`bad value, ${where}`);
    const names = [...labels.matchAll(/(?:^|,)([^=,]+)="(?:[^"\\]|\\.)*"/g)].map((x) => x[1]);
    if (labels && labels.replace(/(?:^|,)[^=,]+="(?:[^"\\]|\\.)*"/g, '') !== '')
      problems.push(`unreadable labels, ${where}`);
    for (const l of names) if (!LABEL.test(l)) problems.push(`bad label name ${l}, ${where}`);
    if (new Set(names).size !== names.length) problems.push(`repeated label, ${where}`);
    const key = `${name}{${labels}}`;
    if (series.has(key)) problems.push(`duplicate series, ${where}`);
    series.add(key);
  });
  return problems;
}

(async () => {
  const got = await load(opt.target, { Accept: PROM_ACCEPT });
  if (isUrl(opt.target)) {
    is(got.status, 200, 'the metrics URL answers 200');
    ok(/^text\/plain;\s*version=0\.0\.4/.test(got.type || ''),
      'Content-Type is text/plain; version=0.0.4', got.type);
  }
  const problems = strict(got.body);
  ok(!problems.length, 'the exposition is well formed (metadata first, one block per family, ' +
    'valid names, values and labels, no duplicate series)', problems.slice(0, 20).join('\n'));

  let fams;
  try {
    fams = parse(got.body);
    ok(true, 'parse-prometheus-text-format reads it');
  } catch (e) {
    ok(false, 'parse-prometheus-text-format reads it', e.message);
    return done();
  }
  const byName = Object.fromEntries(fams.map((f) => [f.name, f]));
  for (const [name, type] of Object.entries(FAMILIES)) {
    const f = byName[name];
    ok(f && f.type === type.toUpperCase() && f.help.length > 10,
      `${name} is there as a ${type} with HELP`, f ? { type: f.type, help: f.help } : 'missing');
  }
  const strays = fams.filter((f) => !FAMILIES[f.name]).map((f) => f.name);
  ok(!strays.length, 'every family is documented here (no stray names)', strays.join(', '));

  // value(family, doser, {label: value}) as a number, undefined when absent.
  const value = (fam, doser, labels = {}) => {
    const f = byName[fam];
    const m = f && f.metrics.find((s) => s.labels?.doser === doser &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return m === undefined ? undefined : Number(m.value);
  };
  // This parser folds all label sets of a histogram into one and keeps _sum
  // and _count only when they carry no label at all: each doser's histogram
  // is handed to it on its own, without the doser label.
  const escLabel = (v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const hist = (doser) => {
    const fam = 'dosificador_tick_duration_seconds', mine = `{doser="${escLabel(doser)}"`;
    const block = [];
    for (const l of got.body.split('\n')) {
      if (l.startsWith(`# HELP ${fam} `) || l.startsWith(`# TYPE ${fam} `)) block.push(l);
      const at = l.indexOf(mine);
      if (!l.startsWith(`${fam}_`) || at !== l.indexOf('{')) continue;
      const rest = l.slice(at + mine.length);
      if (rest.startsWith(',')) block.push(l.slice(0, at) + '{' + rest.slice(1));
      else if (rest.startsWith('}')) block.push(l.slice(0, at) + rest.slice(1));
    }
    const h = parse(block.join('\n') + '\n').find((f) => f.name === fam);
    return h && h.metrics[0];
  };

  const expect = opt.expect ? opt.expect.dosers : [];
  for (const d of expect) {
    const n = d.name, has = (k) => d[k] !== undefined;
    ok(byName.dosificador_quota_per_minute?.metrics.some((s) => s.labels?.doser === n),
      `doser ${n} has its series`);
    if (has('accepted')) is(value('dosificador_objects_accepted_total', n), d.accepted, `${n}: objects accepted`);
    for (const k of ['delivered', 'deleted', 'released'])
      if (has(k)) is(value(`dosificador_objects_${k}_total`, n), d[k], `${n}: objects ${k}`);
    if (has('ticks')) is(value('dosificador_ticks_total', n), d.ticks, `${n}: ticks`);
    for (const [reason, v] of Object.entries(d.rejected || {}))
      is(value('dosificador_objects_rejected_total', n, { reason }), v, `${n}: rejected, ${reason}`);
    for (const [outcome, v] of Object.entries(d.invocations || {}))
      is(value('dosificador_invocations_total', n, { outcome }), v, `${n}: invocations ${outcome}`);
    for (const [action, outs] of Object.entries(d.sqs_calls || {}))
      for (const [outcome, v] of Object.entries(outs))
        is(value('dosificador_sqs_calls_total', n, { action, outcome }), v, `${n}: SQS ${action} ${outcome}`);
    if (has('tick_buckets')) {
      const h = hist(n);
      let cum = 0;
      const want = Object.fromEntries(LE.map((le, i) => [le, String(cum += d.tick_buckets[i])]));
      is(JSON.stringify(h && h.buckets), JSON.stringify(want), `${n}: tick duration buckets, cumulative`);
      is(h && Number(h.count), cum, `${n}: tick duration count is the +Inf bucket`);
      if (has('ticks')) is(cum, d.ticks, `${n}: every tick is in the histogram`);
    }
    if (has('tick_sum_ms')) is(Number(hist(n)?.sum), d.tick_sum_ms / 1000, `${n}: tick duration sum, seconds`);
    if (d.queue === null)
      is(value('dosificador_queue_messages', n, { state: 'visible' }), undefined,
        `${n}: no queue depth before the first sample`);
    else if (d.queue)
      for (const state of ['visible', 'inflight', 'delayed'])
        if (d.queue[state] !== undefined)
          is(value('dosificador_queue_messages', n, { state }), d.queue[state], `${n}: queue ${state}`);
    if (has('last_tick_ms'))
      is(value('dosificador_last_tick_timestamp_seconds', n), d.last_tick_ms / 1000, `${n}: last tick timestamp`);
    if (has('per_minute')) is(value('dosificador_quota_per_minute', n), d.per_minute, `${n}: quota per minute`);
    if (has('per_invocation')) is(value('dosificador_quota_per_invocation', n), d.per_invocation, `${n}: quota per invocation`);
    if (has('window_seconds')) is(value('dosificador_quota_window_seconds', n), d.window_seconds, `${n}: quota window`);
  }
  if (opt.expect) {
    const names = new Set(byName.dosificador_quota_per_minute?.metrics.map((s) => s.labels?.doser));
    is(names.size, expect.length, 'as many dosers as expected');
  }

  // The JSON of the same page must tell the same story.
  if (opt.json) {
    const j = JSON.parse((await load(opt.json, { Accept: 'application/json' })).body);
    ok(Array.isArray(j.dosers) && j.dosers.length > 0, 'the JSON lists the dosers');
    for (const d of j.dosers || []) {
      const n = d.name, t = d.totals;
      const same = [
        [value('dosificador_objects_accepted_total', n), t.accepted],
        [value('dosificador_objects_delivered_total', n), t.delivered],
        [value('dosificador_ticks_total', n), t.ticks],
        [value('dosificador_invocations_total', n, { outcome: 'accepted' }), t.invocations.accepted],
        [value('dosificador_sqs_calls_total', n, { action: 'SendMessageBatch', outcome: 'ok' }),
          t.sqs_calls.SendMessageBatch.ok],
        [value('dosificador_queue_messages', n, { state: 'visible' }), d.queue.visible ?? undefined],
        [Number(hist(n)?.count), t.tick_duration.count],
        [value('dosificador_quota_window_seconds', n), d.quota.window_ms / 1000],
      ];
      const diff = same.filter(([a, b]) => a !== b);
      ok(!diff.length, `${n}: metrics and JSON agree`, diff);
    }
  }
  done();
})().catch((e) => bail(e.stack || String(e)));
