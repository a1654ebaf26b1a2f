/**
 * What the demo's pages share (the live dashboard, web/page.ts, and the cluster page,
 * cluster/page.ts): a self-contained HTML document whose Content-Security-Policy allows only
 * its own inline style and script (by hash) and connections back to its server, and the
 * browser-side helpers both scripts use.
 *
 * The helpers (plain ES2020, no template literals: they sit inside one): `el(tag, attrs,
 * children)` builds an element (attributes and text only, never HTML), `setText(node, text)`
 * writes text when it changed, `fmt(n)` formats a count, `report(ok, text)` shows a command's
 * outcome in `#result`, `post(route, body, what)` posts JSON and reports (resolves with
 * whether it succeeded), `setStatus(state, text)` sets the `#status` line.
 */
import { createHash } from 'node:crypto';

export const PAGE_HELPERS = `
'use strict';
function el(tag, attrs, children) {
  var node = document.createElement(tag);
  for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
  (children || []).forEach(function (c) { node.append(c); });
  return node;
}
function setText(node, text) { if (node && node.textContent !== text) node.textContent = text; }
function fmt(n) { return typeof n === 'number' ? n.toLocaleString('en-US') : '-'; }
function report(ok, text) {
  var r = document.getElementById('result');
  r.setAttribute('data-ok', ok ? 'true' : 'false');
  setText(r, text);
}
function post(route, body, what) {
  return fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (res) { return res.json().then(function (j) { return { res: res, json: j }; }); })
    .then(function (r) {
      if (r.res.ok) report(true, what + ': ok');
      else report(false, what + ': ' + (r.json && r.json.error ? r.json.error : 'HTTP ' + r.res.status));
      return r.res.ok;
    })
    .catch(function (e) { report(false, what + ': ' + e.message); return false; });
}
function setStatus(state, text) {
  var s = document.getElementById('status');
  s.setAttribute('data-state', state);
  setText(s, text);
}
`;

/** A page: its HTML, and the Content-Security-Policy to serve it with. */
export interface Page {
  readonly html: string;
  readonly csp: string;
}

/** A self-contained page: `script` runs after {@link PAGE_HELPERS}. */
export function selfContainedPage(parts: {
  readonly title: string;
  readonly style: string;
  readonly body: string;
  readonly script: string;
}): Page {
  const script = PAGE_HELPERS + parts.script;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${parts.title}</title>
<style>${parts.style}</style>
</head>
<body>${parts.body}<script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(parts.style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}
