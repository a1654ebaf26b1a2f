/**
 * The demo's live page: one self-contained HTML document (inline CSS and JS, no external
 * resources). It listens to `/events` (Server-Sent Events, one JSON snapshot per message) and
 * draws the metric charts (inline SVG), the supervision tree, the Alerter's state and recent
 * alerts, and the recent dead letters. A banner says when the app is down (restarting).
 *
 * **Layout.** Fits from 760 px wide up: the header and controls wrap, the charts reflow, and
 * only the tree (wide rows) scrolls inside its own box.
 * Buttons post to `/api/crash`, `/api/slow` and `/api/flood`.
 *
 * Every value the page shows from a snapshot goes in through `textContent` or an attribute,
 * never through `innerHTML`: dead-letter previews are arbitrary text.
 *
 * Stable `data-testid`s (for the browser test and for anyone scripting the page):
 * `status`, `health`, `charts`, `<metric>-latest` (requests, latency, db, errors, missed), `<metric>-chart`,
 * `<metric>-scale`, `kind-<path>`, `state-<path>` (a machine's state), `alerter-state`, `alerts`,
 * `tree`, `node-<path>`, `status-<path>`, `restarts-<path>`, `mailbox-<path>`, `dropped-<path>`,
 * `delivered-<subscriber path>`, `missed-<subscriber path>`, `crash-<path>`, `slow-<path>`,
 * `flood`, `action-result`, `dead-letters`, `dead-letters-total`.
 */
import { selfContainedPage } from './page-kit.js';
import { STYLE } from './page-style.js';

// Plain ES2020 for the browser. No template literals here: this text sits inside one.
const SCRIPT = `
var CHARTS = [
  { key: 'requests', label: 'Requests / s', unit: '', color: '#1f5fbf', pick: function (s) { return s.requests; } },
  { key: 'latency', label: 'Avg latency', unit: 'ms', color: '#7a3fb0', pick: function (s) { return s.avgLatencyMs; } },
  { key: 'db', label: 'DB queries / s', unit: '', color: '#1d7a3a', pick: function (s) { return s.dbQueries; } },
  { key: 'errors', label: 'Errors / s', unit: '', color: '#b3261e', pick: function (s) { return s.errors; } },
  { key: 'missed', label: 'Missed / s (all subscribers)', unit: '', color: '#a15c00', pick: function (s) { return s.missedAll; } }
];
// The y scale follows the last RECENT points: after a spike it comes back within RECENT seconds
// (older, taller points are clipped at the top) instead of flattening the chart for a minute.
var SLOTS = 60, RECENT = 15, W = 300, H = 64, SVG = 'http://www.w3.org/2000/svg';
var slowed = new Set();
var treeKey = '';
var cells = new Map();

function svg(tag, attrs) {
  var node = document.createElementNS(SVG, tag);
  for (var k in attrs) node.setAttribute(k, attrs[k]);
  return node;
}

// ---- charts ----
var charts = {};
function buildCharts() {
  var box = document.getElementById('charts');
  CHARTS.forEach(function (c) {
    var out = el('output', { 'data-testid': c.key + '-latest', 'aria-live': 'off' }, ['-']);
    var chart = svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none',
      role: 'img', 'aria-label': c.label + ', last ' + SLOTS + ' seconds', 'data-testid': c.key + '-chart' });
    chart.append(svg('line', { class: 'grid', x1: 0, x2: W, y1: H - 0.5, y2: H - 0.5, 'vector-effect': 'non-scaling-stroke' }));
    var area = svg('polygon', { class: 'area', fill: c.color });
    var line = svg('polyline', { class: 'line', stroke: c.color, 'vector-effect': 'non-scaling-stroke' });
    // The newest point, as a dot (also what shows while there is only one).
    var dot = svg('line', { class: 'dot', stroke: c.color, 'vector-effect': 'non-scaling-stroke', visibility: 'hidden' });
    chart.append(area, line, dot);
    var max = el('span', { 'data-testid': c.key + '-scale' }, []);
    var fig = el('figure', {}, [el('figcaption', {}, [el('span', {}, [c.label]), out]), chart,
      el('div', { class: 'axis', 'aria-hidden': 'true' }, [max, el('span', {}, ['now'])])]);
    box.append(fig);
    charts[c.key] = { out: out, area: area, line: line, dot: dot, max: max, spec: c };
  });
}
function drawCharts(summaries) {
  var recent = summaries.slice(-SLOTS);
  CHARTS.forEach(function (c) {
    var ch = charts[c.key];
    var values = recent.map(c.pick);
    var last = values.length ? values[values.length - 1] : undefined;
    setText(ch.out, last === undefined ? '-' : fmt(last) + (c.unit ? ' ' + c.unit : ''));
    var recentMax = Math.max.apply(null, values.slice(-RECENT).concat([0]));
    var windowMax = Math.max.apply(null, values.concat([0]));
    var top = Math.max(1, recentMax * 1.15);
    var unit = c.unit ? ' ' + c.unit : '';
    setText(ch.max, !values.length ? 'waiting for data'
      : 'scale ' + fmt(Math.round(top)) + unit + (windowMax > top ? ' \u00b7 peak ' + fmt(windowMax) + unit + ' clipped' : ''));
    var step = W / (SLOTS - 1);
    var pts = values.map(function (v, i) {
      var x = W - (values.length - 1 - i) * step;
      var y = H - 2 - (Math.min(v, top) / top) * (H - 6);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    ch.line.setAttribute('points', pts.join(' '));
    var lastPt = pts.length ? pts[pts.length - 1].split(',') : null;
    ch.dot.setAttribute('visibility', lastPt ? 'visible' : 'hidden');
    if (lastPt) {
      ch.dot.setAttribute('x1', lastPt[0]); ch.dot.setAttribute('x2', lastPt[0]);
      ch.dot.setAttribute('y1', lastPt[1]); ch.dot.setAttribute('y2', lastPt[1]);
    }
    ch.area.setAttribute('points', pts.length
      ? (W - (values.length - 1) * step).toFixed(1) + ',' + H + ' ' + pts.join(' ') + ' ' + W + ',' + H : '');
  });
}

// ---- supervision tree ----
function flatten(node, out) { out.push(node.path); node.children.forEach(function (c) { flatten(c, out); }); return out; }
function num(testid) { return el('span', { class: 'num', 'data-testid': testid }, ['0']); }
// What a node is, for the kind column: the runtime's guardian and the demo's keeper are not workers.
function role(node, workers) {
  if (node.path === '/user') return 'guardian';
  if (node.path === '/user/keeper') return 'keeper';
  if (node.details && node.details.type === 'TopicStats') return 'topic';
  if (node.kind === 'supervisor') return 'supervisor';
  return workers.indexOf(node.path) >= 0 ? 'worker' : node.kind;
}
function machineState(node) {
  var s = node.details && node.details.state;
  return typeof s === 'string' ? s : null;
}
function buildNode(node, workers, depth) {
  var status = el('span', { class: 'badge', 'data-testid': 'status-' + node.path }, [node.status]);
  var restarts = num('restarts-' + node.path);
  var mailbox = num('mailbox-' + node.path);
  var dropped = num('dropped-' + node.path);
  var processed = num('processed-' + node.path);
  var actions = el('span', { class: 'actions' }, []);
  var state = el('span', { class: 'machine', 'data-testid': 'state-' + node.path }, []);
  var row = el('div', { class: 'row' }, [
    el('span', { class: 'name', title: node.path }, [node.name, ' ', state]),
    el('span', { class: 'badge', 'data-testid': 'kind-' + node.path }, [role(node, workers)]),
    status, restarts, mailbox, dropped, processed, actions
  ]);
  row.style.setProperty('--depth', String(depth));
  if (workers.indexOf(node.path) >= 0) {
    if (/\\/subscribers\\/[^/]+$/.test(node.path)) {
      actions.append(el('button', { type: 'button', 'data-action': 'slow', 'data-path': node.path,
        'data-testid': 'slow-' + node.path, 'aria-pressed': slowed.has(node.path) ? 'true' : 'false',
        'aria-label': 'Make ' + node.path + ' slow (200 ms per message)' },
        [slowed.has(node.path) ? 'reset speed' : 'make slow']));
    }
    actions.append(el('button', { type: 'button', class: 'danger', 'data-action': 'crash', 'data-path': node.path,
      'data-testid': 'crash-' + node.path, 'aria-label': 'Crash ' + node.path }, ['crash']));
  }
  var li = el('li', { 'data-testid': 'node-' + node.path }, [row]);
  var subs = null;
  if (node.details && Array.isArray(node.details.subscriptions)) {
    subs = el('ul', { class: 'subs', 'aria-label': node.name + ' subscriptions' }, []);
    li.append(subs);
  }
  cells.set(node.path, { state: state, status: status, restarts: restarts, mailbox: mailbox,
    dropped: dropped, processed: processed, subs: subs });
  if (node.children.length) {
    var ul = el('ul', {}, []);
    node.children.forEach(function (c) { ul.append(buildNode(c, workers, depth + 1)); });
    li.append(ul);
  }
  return li;
}
function updateNode(node) {
  var c = cells.get(node.path);
  if (c) {
    var ms = machineState(node);
    setText(c.state, ms === null ? '' : ms);
    setText(c.status, node.status);
    c.status.className = 'badge st-' + node.status;
    setText(c.restarts, fmt(node.restarts));
    setText(c.mailbox, fmt(node.mailboxDepth));
    c.mailbox.classList.toggle('hot', node.mailboxDepth > 100);
    setText(c.dropped, fmt(node.dropped));
    c.dropped.classList.toggle('hot', node.dropped > 0);
    setText(c.processed, fmt(node.processed));
    if (c.subs) {
      var details = node.details;
      c.subs.replaceChildren(el('li', {}, ['published ', el('b', {}, [fmt(details.published)]), ' event(s) to']));
      details.subscriptions.forEach(function (s) {
        var name = s.subscriber.split('/').pop();
        c.subs.append(el('li', {}, ['\\u2192 ' + name + ': delivered ',
          el('b', { 'data-testid': 'delivered-' + s.subscriber }, [fmt(s.delivered)]), ', missed ',
          el('b', { 'data-testid': 'missed-' + s.subscriber }, [fmt(s.missed)])]));
      });
    }
  }
  node.children.forEach(updateNode);
}
function drawTree(tree, workers) {
  var key = flatten(tree, []).join('|') + '#' + workers.join('|');
  if (key !== treeKey) {
    treeKey = key;
    cells.clear();
    var root = document.getElementById('tree');
    root.replaceChildren(buildNode(tree, workers, 0));
  }
  updateNode(tree);
}

// ---- health and alerts ----
function drawHealth(health) {
  var box = document.getElementById('health');
  if (!health || health.state === 'running') { box.hidden = true; return; }
  box.hidden = false;
  setText(box, 'The metrics app is down: its supervisor gave up' +
    (health.lastError ? ' (' + health.lastError + ')' : '') + '. The keeper starts it again' +
    (typeof health.restartInMs === 'number' ? ' in ' + health.restartInMs / 1000 + ' s' : ' shortly') +
    ' (' + fmt(health.escalations) + ' time(s) so far). Buttons answer 503 meanwhile.');
}
function findNode(node, path) {
  if (node.path === path) return node;
  for (var i = 0; i < node.children.length; i++) {
    var found = findNode(node.children[i], path);
    if (found) return found;
  }
  return null;
}
function drawAlerts(alerts, now, tree) {
  var alerter = findNode(tree, '/user/metrics-app/subscribers/alerter');
  var state = alerter ? machineState(alerter) || alerter.status : 'not running';
  var st = document.getElementById('alerter-state');
  st.setAttribute('data-state', state);
  setText(st, state);
  var list = document.getElementById('alerts');
  if (!alerts.length) { list.replaceChildren(el('li', { class: 'empty' }, ['no alerts yet'])); return; }
  list.replaceChildren.apply(list, alerts.slice().reverse().map(function (a) {
    var ago = Math.max(0, Math.round((now - a.at) / 1000));
    return el('li', { class: a.kind }, [el('b', {}, [a.kind === 'alert' ? 'ALERT' : 'back to normal']),
      ' error rate ' + fmt(a.errorsPerMinute) + '/min (threshold ' + fmt(a.threshold) + '), ' + ago + ' s ago']);
  }));
}

// ---- dead letters ----
function drawDeadLetters(letters, total) {
  setText(document.getElementById('dl-total'), fmt(total) + ' in all');
  var body = document.getElementById('dl-body');
  if (!letters.length) {
    body.replaceChildren(el('tr', {}, [el('td', { colspan: '4', class: 'empty' }, ['none yet'])]));
    return;
  }
  // Newest first; a run of identical letters (a flood) is one row with a count.
  var groups = [];
  letters.slice().reverse().forEach(function (d) {
    var last = groups[groups.length - 1];
    if (last && last.reason === d.reason && last.recipient === d.recipient && last.message === d.message) last.n++;
    else groups.push({ reason: d.reason, recipient: d.recipient, message: d.message, n: 1 });
  });
  body.replaceChildren.apply(body, groups.map(function (g) {
    return el('tr', {}, [el('td', {}, [g.reason]), el('td', {}, [g.recipient]),
      el('td', { class: 'msg', title: g.message }, [g.message]), el('td', { class: 'count' }, [g.n > 1 ? '\\u00d7' + g.n : ''])]);
  }));
}

// ---- commands ----
document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button[data-action]');
  if (!button) return;
  var action = button.getAttribute('data-action');
  var path = button.getAttribute('data-path');
  if (action === 'crash') post('/api/crash', { path: path }, 'crash ' + path);
  else if (action === 'flood') post('/api/flood', { count: 5000 }, 'flood 5000 events');
  else if (action === 'slow') {
    var slow = !slowed.has(path);
    post('/api/slow', { path: path, ms: slow ? 200 : 0 }, (slow ? 'slow down ' : 'reset speed of ') + path)
      .then(function (ok) {
        if (!ok) return;
        if (slow) slowed.add(path); else slowed.delete(path);
        button.setAttribute('aria-pressed', slow ? 'true' : 'false');
        button.textContent = slow ? 'reset speed' : 'make slow';
      });
  }
});

// ---- live stream ----
buildCharts();
var source = new EventSource('/events');
source.addEventListener('open', function () { setStatus('live', '\\u25cf live'); });
source.addEventListener('error', function () { setStatus('down', '\\u25cb reconnecting\\u2026'); });
source.addEventListener('snapshot', function (event) {
  var snap = JSON.parse(event.data);
  setStatus('live', '\\u25cf live');
  drawCharts(snap.summaries);
  drawHealth(snap.health);
  drawTree(snap.tree, snap.workers);
  drawAlerts(snap.alerts || [], snap.now, snap.tree);
  drawDeadLetters(snap.deadLetters, snap.deadLettersTotal);
});
`;

const BODY = `
<header>
  <h1>Troupe &middot; live metrics dashboard</h1>
  <p>publishers &rarr; metrics topic &rarr; dashboard, logger, alerter &mdash; each supervised</p>
  <span id="status" data-testid="status" role="status" data-state="connecting">connecting&hellip;</span>
</header>
<div id="health" data-testid="health" role="alert" hidden></div>
<main>
  <section aria-labelledby="charts-title">
    <h2 id="charts-title">Metrics <span class="hint">one point per dashboard summary (1 s), last 60 s</span></h2>
    <div id="charts" class="charts" data-testid="charts"></div>
  </section>
  <section aria-labelledby="tree-title">
    <h2 id="tree-title">Supervision tree <span class="hint">crash a worker and watch its supervisor restart it</span></h2>
    <div class="controls">
      <button type="button" data-action="flood" data-testid="flood">flood topic (5,000 events)</button>
      <span id="result" data-testid="action-result" role="status" aria-live="polite"></span>
    </div>
    <div class="scroll">
      <div class="row head" aria-hidden="true"><span>actor</span><span>kind</span><span>status</span>
        <span class="num">restarts</span><span class="num">mailbox</span><span class="num">dropped</span>
        <span class="num">processed</span><span></span></div>
      <ul id="tree" class="tree" data-testid="tree" aria-label="Supervision tree"></ul>
    </div>
  </section>
  <section aria-labelledby="alerts-title">
    <h2 id="alerts-title">Alerts <span class="hint">alerter: <span id="alerter-state" data-testid="alerter-state">-</span>,
      when errors in the last minute pass the threshold</span></h2>
    <ul id="alerts" class="alerts" data-testid="alerts"><li class="empty">no alerts yet</li></ul>
  </section>
  <section aria-labelledby="dl-title">
    <h2 id="dl-title">Recent dead letters <span id="dl-total" class="hint" data-testid="dead-letters-total"></span></h2>
    <div class="dl">
      <table data-testid="dead-letters">
        <thead><tr><th scope="col">reason</th><th scope="col">recipient</th><th scope="col">message</th>
          <th scope="col"><span class="sr-only">repeats</span></th></tr></thead>
        <tbody id="dl-body"><tr><td colspan="4" class="empty">none yet</td></tr></tbody>
      </table>
    </div>
  </section>
</main>
`;

const page = selfContainedPage({
  title: 'Troupe demo &middot; live dashboard',
  style: STYLE,
  body: BODY,
  script: SCRIPT,
});

/** The whole page. */
export const PAGE_HTML = page.html;

/** Only its own inline style and script (by hash), and connections back to this server. */
export const PAGE_CSP = page.csp;
