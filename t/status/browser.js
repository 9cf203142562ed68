#!/usr/bin/env node
// The status page in real headless Chromium (Debian's, driven by
// playwright-core): doser names, quotas, queue depths and a chart with data
// in the rendered DOM, no script and no request beyond the page itself,
// nothing spilling out sideways; a screenshot for people to look at.
//
//   node t/status/browser.js FILE|URL [--expect expect.json]
//        [--hostile FILE|URL] [--screenshot out.png]
//
// --expect: the inputs (t/status/render.c writes them; a live test writes its
// own, any key may be left out). --hostile: a page whose doser name and URLs
// try to inject markup and whose endpoint carries a password.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');
const req = createRequire(path.join(__dirname, 'package.json'));
const { chromium } = req('playwright-core');
const { ok, is, done, bail, args, isUrl } = require('./lib');

const opt = args('browser.js FILE|URL [--expect expect.json] [--hostile FILE|URL] [--screenshot out.png]');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic'];
const href = (t) => (isUrl(t) ? t : 'file://' + path.resolve(t));

async function open(ctx, target) {
  const page = await ctx.newPage();
  const requests = [];
  page.on('request', (r) => { if (!r.url().endsWith('/favicon.ico')) requests.push(r.url()); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const resp = await page.goto(href(target), { waitUntil: 'load', timeout: 20000 });
  return { page, resp, requests, errors };
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dsf-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, ignoreDefaultArgs: ['--enable-automation'],
    viewport: { width: 1280, height: 900 }, timeout: 30000,
  });
  try {
    await checkPage(ctx);
    if (opt.hostile) await checkHostile(ctx);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function checkPage(ctx) {
  const { page, resp, requests, errors } = await open(ctx, opt.target);
  if (isUrl(opt.target)) {
    is(resp.status(), 200, 'the page answers 200');
    ok(/^text\/html/.test(resp.headers()['content-type'] || ''), 'served as text/html',
      resp.headers()['content-type']);
  }
  is(await page.title(), 'mod_dosificador status', 'the title says what the page is');
  is(requests.length, 1, 'no request beyond the page itself (no external asset)', requests);
  is(await page.evaluate(() => document.scripts.length), 0, 'no script on the page');
  ok(!errors.length, 'no error in the page', errors);

  const shown = await page.$$eval('section.doser', (secs) => secs.map((s) => {
    const q = s.querySelector('.quota');
    const bars = [...s.querySelectorAll('svg.chart rect.bar')];
    const text = (sel) => s.querySelector(sel)?.textContent.trim();
    const rect = s.querySelector('h2 .name').getBoundingClientRect();
    return {
      name: text('h2 .name'),
      visible: rect.width > 0 && rect.height > 0,
      quota: q && { text: q.textContent, n: +q.dataset.perMinute, m: +q.dataset.perInvocation,
        windowMs: +q.dataset.windowMs },
      bars: bars.length,
      barsWithData: bars.filter((b) => +b.dataset.delivered > 0 && b.getBBox().height > 2).length,
      deliveredInChart: bars.reduce((a, b) => a + +b.dataset.delivered, 0),
      queue: { visible: text('.queue .visible'), inflight: text('.queue .inflight'),
        delayed: text('.queue .delayed') },
      receptor: text('.receptor'), queueUrl: text('.queue-url'),
      objects: Object.fromEntries([...s.querySelectorAll('table.objects tbody tr')]
        .map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])),
      tickRows: s.querySelectorAll('table.ticks tbody tr').length,
    };
  }));
  ok(shown.length > 0, 'the page shows at least one doser');

  const expect = opt.expect ? opt.expect.dosers : shown.map((s) => ({ name: s.name }));
  if (opt.expect) is(shown.length, expect.length, 'one section per configured doser');
  for (const d of expect) {
    const s = shown.find((x) => x.name === d.name);
    if (!ok(s && s.visible, `doser ${d.name}: its name is shown`)) continue;
    const n = d.name;
    if (d.per_minute !== undefined) {
      is(s.quota.n, d.per_minute, `${n}: quota N`);
      is(s.quota.m, d.per_invocation, `${n}: quota M`);
      is(s.quota.windowMs, d.window_seconds * 1000, `${n}: quota window`);
      const words = [`${d.per_minute} invocation`, `${d.per_invocation} object`,
        `${d.per_minute * d.per_invocation} objects per window`];
      ok(words.every((w) => s.quota.text.includes(w)), `${n}: the quota reads in words`, s.quota.text);
    }
    if (d.receptor) is(s.receptor, d.receptor, `${n}: the receptor is shown`);
    if (d.queue_url) is(s.queueUrl, d.queue_url, `${n}: the queue URL is shown`);
    if (d.queue)
      is(JSON.stringify(s.queue), JSON.stringify({ visible: String(d.queue.visible),
        inflight: String(d.queue.inflight), delayed: String(d.queue.delayed) }), `${n}: queue depth`);
    if (d.accepted !== undefined) is(s.objects.accepted, String(d.accepted), `${n}: objects accepted`);
    if (d.delivered !== undefined) is(s.objects.delivered, String(d.delivered), `${n}: objects delivered`);
    if (d.chart_bars !== undefined) {
      is(s.bars, d.chart_bars, `${n}: one bar per tick of the last hour`);
      is(s.deliveredInChart, d.delivered_last_hour, `${n}: the bars add up to the hour's deliveries`);
    }
    if (d.delivered_last_hour !== 0)
      ok(s.barsWithData > 0, `${n}: the chart draws ticks that delivered`, s);
    if (d.ticks !== undefined)
      is(s.tickRows, Math.max(1, Math.min(20, d.ticks)), `${n}: the last ticks are listed (at most 20)`);
  }

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  ok(overflow <= 0, 'nothing spills out sideways at 1280 px', `${overflow} px too wide`);
  await page.setViewportSize({ width: 400, height: 800 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  ok(narrow <= 0, 'nor on a 400 px phone screen (wide tables scroll inside their box)',
    `${narrow} px too wide`);
  await page.setViewportSize({ width: 1280, height: 900 });

  if (opt.screenshot) {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: opt.screenshot });   // the first doser, as the README shows it
    const png = fs.readFileSync(opt.screenshot);
    ok(png.length > 20000 && png.subarray(1, 4).toString() === 'PNG',
      `screenshot written to ${opt.screenshot} (${png.length} bytes)`);
  }
  await page.close();
}

async function checkHostile(ctx) {
  const { page, requests } = await open(ctx, opt.hostile);
  is(await page.evaluate(() => window.pwned), undefined, 'hostile: no injected script ran');
  is(await page.evaluate(() => document.scripts.length), 0, 'hostile: no script element made it in');
  is(await page.$$eval('img, main svg:not(.chart), [onload], [onerror]', (e) => e.length), 0,
    'hostile: no injected element or handler');
  is(requests.length, 1, 'hostile: no request beyond the page', requests);
  const name = await page.$eval('section.doser h2 .name', (e) => e.textContent);
  ok(name.includes('<script>window.pwned=1</script>'), 'hostile: the name is shown as text', name);
  const text = await page.evaluate(() => document.documentElement.outerHTML);
  ok(!text.includes('wJalrXUtnFEMIsecret'), 'hostile: the password in an endpoint URL is not shown');
  ok(text.includes('http://127.0.0.1:9324'), 'hostile: the endpoint is shown without it');
  await page.close();
}

main().then(done, (e) => bail(e.stack || String(e)));
