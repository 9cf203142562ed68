// Shared by the status tests: TAP output, arguments, loading a file or a URL.
'use strict';
const fs = require('fs');

let n = 0, failed = 0;
function ok(pass, name, diag) {
  n++;
  console.log(`${pass ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!pass) {
    failed++;
    if (diag !== undefined)
      for (const line of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n'))
        console.log(`#   ${line}`);
  }
  return pass;
}
function is(got, want, name) {
  const pass = got === want;
  return ok(pass, name, pass ? undefined : `got:      ${JSON.stringify(got)}\nexpected: ${JSON.stringify(want)}`);
}
function done() {
  console.log(`1..${n}`);
  process.exitCode = failed ? 1 : 0;
}
function bail(msg) {
  console.log(`Bail out! ${msg}`);
  process.exit(1);
}

// TARGET [--key value]...
function args(usage) {
  const a = process.argv.slice(2), opt = {};
  if (!a.length || a[0].startsWith('--')) bail(`usage: ${usage}`);
  opt.target = a[0];
  for (let i = 1; i < a.length; i += 2) {
    if (!a[i].startsWith('--') || a[i + 1] === undefined) bail(`usage: ${usage}`);
    opt[a[i].slice(2)] = a[i + 1];
  }
  opt.expect = opt.expect ? JSON.parse(fs.readFileSync(opt.expect, 'utf8')) : null;
  return opt;
}

const isUrl = (t) => /^https?:\/\//.test(t);

// The body of a file, or of a URL fetched with these headers: {status, type, body}.
async function load(target, headers) {
  if (!isUrl(target))
    return { status: 200, type: null, body: fs.readFileSync(target, 'utf8') };
  const r = await fetch(target, { headers, redirect: 'manual' });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

// A URL for a format of the same page: ?json / ?metrics on a URL, the sibling file otherwise.
function sibling(target, query, file) {
  if (!isUrl(target)) return file;
  const u = new URL(target);
  u.search = query;
  return u.toString();
}

module.exports = { ok, is, done, bail, args, load, isUrl, sibling };
