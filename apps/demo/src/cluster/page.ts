/**
 * The cluster demo's live page: one self-contained HTML document (inline CSS and JS, no
 * external resources, allowed by hash in its CSP). It polls `/api/state` every 500 ms and draws
 * one card per node: its status (and what its peers see), pid, process starts, roles, uptime,
 * flow counters, links to its peers, dead letters, its supervision tree with crash / slow
 * buttons on the workers, and a "kill node" button (SIGKILL through `/api/kill`). Above the
 * cards: the ledger's count (the durable result of the whole flow), a "flood" button (on the
 * node that runs the source) and the launcher's and observer's events.
 *
 * Every value from the state goes in through `textContent` or an attribute, never `innerHTML`.
 *
 * Stable hooks (for the browser test and for anyone scripting the page): `#status`, `#ledger`
 * (`data-testid="ledger"`), `#events` (`data-testid="events"`), `button[data-flood]` (its `data-on` names the source's node),
 * `#action-result`, and per node `[data-node="<name>"]` with `[data-field="<field>"]` for
 * status, peer-view, pid, starts, roles, uptime, published, delivered, lagged, executed,
 * recovered, ledger, dead-letters; `button[data-kill="<name>"]`; links rows
 * `[data-peer="<peer>"]`; tree rows `[data-path="<path>"]` with `button[data-action="crash"]`
 * and `button[data-action="slow"]` on workers (their `data-on` names the node). Only a card has `data-node`.
 */
import { selfContainedPage } from '../web/page-kit.js';
import { STYLE } from '../web/page-style.js';

const CLUSTER_STYLE = `
.summary { display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
.big { display: flex; flex-direction: column; }
.big output { font: 700 34px var(--mono); color: var(--ink); font-variant-numeric: tabular-nums; }
.big span { color: var(--muted); font-size: 13px; }
.nodes { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
.card > h2 .badge { font-size: 12px; }
.card[data-status="down"] { border-color: #e3a9a5; background: #fffafa; }
.card[data-status="starting"] { border-color: #e5c48f; }
.card > h2 .kill { margin-left: auto; }
.st-up { color: var(--ok); border-color: #a9d5b6; }
.st-starting { color: var(--warn); border-color: #e5c48f; }
.st-down, .st-left { color: var(--bad); border-color: #e3a9a5; }
.cols { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); gap: 16px; }
@media (max-width: 1000px) { .cols { grid-template-columns: minmax(0, 1fr); } }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 6px 12px; margin: 0 0 10px; }
dl.facts div { display: flex; flex-direction: column; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; font: 600 14px var(--mono); font-variant-numeric: tabular-nums; }
dl.facts dd.ledger { font-size: 20px; color: var(--accent); }
h3 { font-size: 13px; margin: 10px 0 4px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.path { font-family: var(--mono); white-space: nowrap; }
.events { list-style: none; margin: 0; padding: 0; font: 12px var(--mono); max-height: 260px; overflow: auto; }
.events li { padding: 2px 0; border-bottom: 1px solid var(--line); }
.events time { color: var(--muted); margin-right: 8px; }
.events li.bad { color: var(--bad); }
.events li.good { color: var(--ok); }
.traces .spans { list-style: none; margin: 0 0 10px; padding: 0; font: 12px var(--mono); white-space: pre; overflow-x: auto; }
.traces h3 { font-size: 13px; margin: 6px 0 2px; }
`;

// Plain ES2020 for the browser. No template literals here: this text sits inside one.
const SCRIPT = `
var cards = new Map();
var slowed = new Set();
var lastLedger = null;
var eventsKey = '';

function duration(s) {
  if (typeof s !== 'number') return '-';
  if (s < 60) return s + ' s';
  var m = Math.floor(s / 60);
  return m < 60 ? m + ' min ' + (s % 60) + ' s' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}
function fact(label, field, cls) {
  var dd = el('dd', { 'data-field': field, class: cls || '' }, ['-']);
  return { box: el('div', {}, [el('dt', {}, [label]), dd]), value: dd };
}

// ---- one card per node (built once; its fields are updated in place) ----
function buildCard(view) {
  var status = el('span', { class: 'badge', 'data-field': 'status' }, [view.status]);
  var peerView = el('span', { class: 'badge', 'data-field': 'peer-view', hidden: '' }, []);
  var kill = el('button', { type: 'button', class: 'danger kill', 'data-kill': view.name,
    'aria-label': 'Kill ' + view.name + ' (SIGKILL its process)' }, ['kill node']);
  var facts = {};
  var dl = el('dl', { class: 'facts' }, []);
  [['pid', 'pid'], ['process starts', 'starts'], ['roles', 'roles'], ['uptime', 'uptime'],
   ['published', 'published'], ['delivered', 'delivered'], ['lagged', 'lagged'], ['executed', 'executed'],
   ['recovered', 'recovered'], ['ledger', 'ledger'], ['dead letters', 'dead-letters']].forEach(function (f) {
    var x = fact(f[0], f[1], f[1] === 'ledger' ? 'ledger' : '');
    facts[f[1]] = x.value;
    dl.append(x.box);
  });
  var links = el('tbody', {}, []);
  var linksTable = el('table', { 'data-field': 'links' }, [
    el('thead', {}, [el('tr', {}, [el('th', { scope: 'col' }, ['peer']), el('th', { scope: 'col' }, ['status']),
      el('th', { scope: 'col', class: 'num' }, ['sent']), el('th', { scope: 'col', class: 'num' }, ['received']),
      el('th', { scope: 'col', class: 'num' }, ['dead-lettered']), el('th', { scope: 'col', class: 'num' }, ['lost'])])]),
    links]);
  var tree = el('tbody', {}, []);
  var treeTable = el('table', { 'data-field': 'tree' }, [
    el('thead', {}, [el('tr', {}, [el('th', { scope: 'col' }, ['actor']), el('th', { scope: 'col' }, ['status']),
      el('th', { scope: 'col', class: 'num' }, ['mailbox']), el('th', { scope: 'col', class: 'num' }, ['restarts']),
      el('th', { scope: 'col', class: 'num' }, ['processed']), el('th', { scope: 'col' }, [el('span', { class: 'sr-only' }, ['controls'])])])]),
    tree]);
  var section = el('section', { class: 'card', 'data-node': view.name, 'data-status': view.status,
    'aria-label': view.name }, [
    el('h2', {}, [view.name, status, peerView, kill]),
    el('div', { class: 'cols' }, [
      el('div', {}, [dl, el('h3', {}, ['links to peers']), linksTable]),
      el('div', { class: 'scroll' }, [el('h3', {}, ['supervision tree']), treeTable])
    ])
  ]);
  document.getElementById('nodes').append(section);
  return { section: section, status: status, peerView: peerView, kill: kill, facts: facts,
    links: links, tree: tree, treeKey: '', rows: new Map() };
}

function flattenTree(node, depth, out) {
  out.push({ node: node, depth: depth });
  node.children.forEach(function (c) { flattenTree(c, depth + 1, out); });
  return out;
}
function drawTree(card, view) {
  var state = view.state;
  if (!state) {
    if (card.treeKey !== 'none') {
      card.treeKey = 'none';
      card.rows.clear();
      card.tree.replaceChildren(el('tr', {}, [el('td', { colspan: '6', class: 'empty' },
        [view.status === 'up' ? 'waiting for its first report' : 'no process running'])]));
    }
    return;
  }
  var flat = flattenTree(state.tree, 0, []);
  var key = view.starts + '#' + flat.map(function (f) { return f.node.path; }).join('|') + '#' + state.workers.join('|');
  if (key !== card.treeKey) {
    card.treeKey = key;
    card.rows.clear();
    card.tree.replaceChildren.apply(card.tree, flat.map(function (f) {
      var a = f.node;
      var st = el('span', { class: 'badge' }, [a.status]);
      var mailbox = el('td', { class: 'num' }, []);
      var restarts = el('td', { class: 'num' }, []);
      var processed = el('td', { class: 'num' }, []);
      var actions = el('td', {}, []);
      var slowKey = view.name + '|' + view.starts + '|' + a.path;
      if (state.workers.indexOf(a.path) >= 0) {
        var on = slowed.has(slowKey);
        actions.append(el('span', { class: 'actions' }, [
          el('button', { type: 'button', 'data-action': 'slow', 'data-on': view.name, 'data-path': a.path,
            'data-slow-key': slowKey, 'aria-pressed': on ? 'true' : 'false',
            'aria-label': 'Make ' + a.path + ' on ' + view.name + ' slow (200 ms per message)' }, [on ? 'reset speed' : 'slow']),
          el('button', { type: 'button', class: 'danger', 'data-action': 'crash', 'data-on': view.name, 'data-path': a.path,
            'aria-label': 'Crash ' + a.path + ' on ' + view.name }, ['crash'])]));
      }
      var name = el('td', { class: 'path', title: a.path }, [a.name]);
      name.style.paddingLeft = (6 + f.depth * 14) + 'px';
      card.rows.set(a.path, { status: st, mailbox: mailbox, restarts: restarts, processed: processed });
      return el('tr', { 'data-path': a.path }, [name, el('td', {}, [st]), mailbox, restarts, processed, actions]);
    }));
  }
  flat.forEach(function (f) {
    var a = f.node, r = card.rows.get(a.path);
    if (!r) return;
    setText(r.status, a.status);
    r.status.className = 'badge st-' + a.status;
    setText(r.mailbox, fmt(a.mailboxDepth) + ' / ' + fmt(a.mailboxCapacity));
    r.mailbox.classList.toggle('hot', a.mailboxDepth >= a.mailboxCapacity * 0.8);
    setText(r.restarts, fmt(a.restarts));
    r.restarts.classList.toggle('hot', a.restarts > 0);
    setText(r.processed, fmt(a.processed));
  });
}

function drawLinks(card, state) {
  var peers = state ? state.cluster.peers : [];
  if (!peers.length) {
    card.links.replaceChildren(el('tr', {}, [el('td', { colspan: '6', class: 'empty' }, [state ? 'no peers yet' : '-'])]));
    return;
  }
  card.links.replaceChildren.apply(card.links, peers.map(function (p) {
    return el('tr', { 'data-peer': p.node }, [el('td', {}, [p.node]),
      el('td', {}, [el('span', { class: 'badge st-' + p.status, 'data-field': 'peer-status' }, [p.status])]),
      el('td', { class: 'num' }, [fmt(p.sent)]), el('td', { class: 'num' }, [fmt(p.received)]),
      el('td', { class: 'num' + (p.deadLettered > 0 ? ' hot' : '') }, [fmt(p.deadLettered)]),
      el('td', { class: 'num' + (p.lost > 0 ? ' hot' : '') }, [fmt(p.lost)])]);
  }));
}

// What the other nodes report about this one (a node that left shows 'left' here).
function peerStatus(name, nodes) {
  var seen = [];
  nodes.forEach(function (n) {
    if (n.name === name || n.status !== 'up' || !n.state) return;
    n.state.cluster.peers.forEach(function (p) { if (p.node === name) seen.push(p.status); });
  });
  if (!seen.length) return null;
  var first = seen[0];
  return seen.every(function (s) { return s === first; }) ? first : 'mixed (' + seen.join(', ') + ')';
}

function drawCard(view, nodes) {
  var card = cards.get(view.name);
  if (!card) { card = buildCard(view); cards.set(view.name, card); }
  card.section.setAttribute('data-status', view.status);
  setText(card.status, view.status);
  card.status.className = 'badge st-' + view.status;
  var seen = peerStatus(view.name, nodes);
  card.peerView.hidden = seen === null || seen === view.status;
  setText(card.peerView, seen === null ? '' : 'peers see: ' + seen);
  card.peerView.className = 'badge st-' + (seen || '');
  card.kill.disabled = view.status !== 'up';
  var s = view.state, c = s ? s.counters : null, f = card.facts;
  setText(f.pid, view.pid === undefined || view.pid === null ? '-' : String(view.pid));
  setText(f.starts, fmt(view.starts));
  setText(f.roles, view.roles.length ? view.roles.join(', ') : 'none');
  setText(f.uptime, s ? duration(s.uptimeS) : '-');
  setText(f.published, c ? fmt(c.blocksPublished + c.pricedPublished) : '-');
  f.published.title = c ? 'blocks ' + fmt(c.blocksPublished) + ', priced ' + fmt(c.pricedPublished) : '';
  setText(f.delivered, c ? fmt(c.blocksDelivered + c.pricedDelivered) : '-');
  f.delivered.title = c ? 'blocks ' + fmt(c.blocksDelivered) + ', priced ' + fmt(c.pricedDelivered) +
    ' (redelivered ' + fmt(c.redelivered) + ')' : '';
  setText(f.lagged, c ? fmt(c.lagged) : '-');
  setText(f.executed, c ? fmt(c.executed) : '-');
  setText(f.recovered, c ? fmt(c.recovered) : '-');
  setText(f.ledger, c && view.roles.indexOf('execution') >= 0 ? fmt(c.ledger) : '-');
  var dead = s ? Object.keys(s.deadLetters).map(function (k) { return k + ' ' + fmt(s.deadLetters[k]); }) : [];
  setText(f['dead-letters'], s ? (dead.length ? dead.join(', ') : '0') : '-');
  drawLinks(card, s);
  drawTree(card, view);
}

function drawLedger(nodes) {
  var exec = nodes.filter(function (n) { return n.roles.indexOf('execution') >= 0; })[0];
  var out = document.getElementById('ledger');
  var note = document.getElementById('ledger-note');
  if (!exec) { setText(out, '-'); setText(note, 'no node runs the ledger'); return; }
  if (exec.state) lastLedger = exec.state.counters.ledger;
  setText(out, lastLedger === null ? '-' : fmt(lastLedger));
  out.setAttribute('data-live', exec.state ? 'true' : 'false');
  setText(note, exec.state
    ? 'executions recorded on ' + exec.name + ' (event-sourced on SQLite; recovered ' + fmt(exec.state.counters.recovered) + ' at its last start)'
    : exec.name + ' is ' + exec.status + ': last count seen; its ledger recovers when it is back');
  var source = nodes.filter(function (n) { return n.roles.indexOf('source') >= 0; })[0];
  var flood = document.getElementById('flood');
  flood.setAttribute('data-on', source ? source.name : '');
  flood.disabled = !source || source.status !== 'up';
}

function drawEvents(events) {
  var key = events.length ? events.length + '|' + events[events.length - 1].at + events[events.length - 1].text : '';
  if (key === eventsKey) return;
  eventsKey = key;
  var list = document.getElementById('events');
  if (!events.length) { list.replaceChildren(el('li', { class: 'empty' }, ['none yet'])); return; }
  list.replaceChildren.apply(list, events.slice().reverse().map(function (e) {
    var cls = /exited|NodeDown|Terminated|SIGKILL/.test(e.text) ? 'bad' : / is up|NodeUp/.test(e.text) ? 'good' : '';
    return el('li', { class: cls }, [el('time', {}, [new Date(e.at).toLocaleTimeString('en-GB')]), e.text]);
  }));
}

var tracesKey = '';
function drawTraces(traces) {
  var key = (traces || []).map(function (t) { return t.traceId; }).join(',');
  if (key === tracesKey) return;
  tracesKey = key;
  var box = document.getElementById('traces');
  if (!traces || !traces.length) { box.replaceChildren(el('p', { class: 'empty' }, ['none yet: a block that reaches the ledger shows here'])); return; }
  box.replaceChildren.apply(box, traces.map(function (t) {
    var t0 = t.spans.length ? t.spans[0].startMs : 0;
    return el('div', { class: 'trace', 'data-trace': t.traceId }, [
      el('h3', {}, ['trace ' + t.traceId.slice(0, 16) + '\u2026 (' + t.spans.length + ' spans)']),
      el('ol', { class: 'spans' }, t.spans.map(function (sp) {
        var label = '\u00a0'.repeat(sp.depth * 3) + sp.name + '  ' + sp.node + (sp.path ? ' ' + sp.path : '');
        return el('li', { class: sp.error ? 'bad' : '', 'data-span-node': sp.node, 'data-depth': String(sp.depth) }, [
          label, el('span', { class: 'hint' }, ['  +' + (sp.startMs - t0).toFixed(1) + ' ms, ' + sp.durationMs.toFixed(2) + ' ms'])
        ]);
      }))
    ]);
  }));
}

// ---- commands ----
document.addEventListener('click', function (event) {
  var button = event.target.closest && event.target.closest('button');
  if (!button || button.disabled) return;
  var kill = button.getAttribute('data-kill');
  if (kill) { post('/api/kill', { node: kill }, 'kill ' + kill); return; }
  if (button.id === 'flood') {
    var on = button.getAttribute('data-on');
    post('/api/control', { node: on, action: 'flood', count: 500 }, 'flood 500 blocks on ' + on);
    return;
  }
  var action = button.getAttribute('data-action');
  var node = button.getAttribute('data-on');
  var path = button.getAttribute('data-path');
  if (action === 'crash') post('/api/control', { node: node, action: 'crash', path: path }, 'crash ' + path + ' on ' + node);
  else if (action === 'slow') {
    var key = button.getAttribute('data-slow-key');
    var slow = !slowed.has(key);
    post('/api/control', { node: node, action: 'slow', path: path, ms: slow ? 200 : 0 },
      (slow ? 'slow down ' : 'reset speed of ') + path + ' on ' + node).then(function (ok) {
      if (!ok) return;
      if (slow) slowed.add(key); else slowed.delete(key);
      button.setAttribute('aria-pressed', slow ? 'true' : 'false');
      button.textContent = slow ? 'reset speed' : 'slow';
    });
  }
});

// ---- polling ----
function draw(s) {
  setText(document.getElementById('cluster'), 'cluster ' + s.cluster + ' on ' + s.natsUrl);
  var up = s.nodes.filter(function (n) { return n.status === 'up'; }).length;
  setText(document.getElementById('nodes-up'), up + ' / ' + s.nodes.length);
  drawLedger(s.nodes);
  s.nodes.forEach(function (n) { drawCard(n, s.nodes); });
  drawEvents(s.events);
  drawTraces(s.traces);
}
function poll() {
  fetch('/api/state', { cache: 'no-store' })
    .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
    .then(function (s) { setStatus('live', '\\u25cf live'); draw(s); })
    .catch(function () { setStatus('down', '\\u25cb reconnecting\\u2026'); })
    .then(function () { setTimeout(poll, 500); });
}
poll();
`;

const BODY = `
<header>
  <h1>Troupe &middot; cluster demo</h1>
  <p>node-1 source &rarr; bus &rarr; node-2 decoder, oracle &rarr; priced (JetStream) &rarr; node-3 detector, execution, ledger</p>
  <span id="status" data-testid="status" role="status" data-state="connecting">connecting&hellip;</span>
</header>
<main>
  <section aria-labelledby="summary-title">
    <h2 id="summary-title">Cluster <span id="cluster" class="hint" data-testid="cluster"></span></h2>
    <div class="summary">
      <div class="big"><output id="ledger" data-testid="ledger" aria-live="off">-</output>
        <span>ledger <span id="ledger-note" data-testid="ledger-note"></span></span></div>
      <div class="big"><output id="nodes-up" data-testid="nodes-up">-</output><span>nodes up</span></div>
      <div class="controls">
        <button type="button" id="flood" data-flood="" data-testid="flood" disabled>flood the bus (500 blocks)</button>
        <span id="result" data-testid="action-result" role="status" aria-live="polite"></span>
      </div>
    </div>
  </section>
  <div id="nodes" class="nodes" data-testid="nodes"></div>
  <section aria-labelledby="traces-title">
    <h2 id="traces-title">Last traces <span class="hint">one block, from the source to the ledger, across the nodes (OpenTelemetry)</span></h2>
    <div id="traces" class="traces" data-testid="traces"><p class="empty">none yet</p></div>
  </section>
  <section aria-labelledby="events-title">
    <h2 id="events-title">Events <span class="hint">launcher and observer, newest first</span></h2>
    <ul id="events" class="events" data-testid="events"><li class="empty">none yet</li></ul>
  </section>
</main>
`;

const page = selfContainedPage({
  title: 'Troupe demo &middot; cluster',
  style: STYLE + CLUSTER_STYLE,
  body: BODY,
  script: SCRIPT,
});

/** The whole page. */
export const CLUSTER_PAGE_HTML = page.html;

/** Only its own inline style and script (by hash), and connections back to this server. */
export const CLUSTER_PAGE_CSP = page.csp;
