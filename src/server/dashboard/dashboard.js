/* global document, window, sessionStorage, fetch, prompt, setTimeout, clearTimeout, setInterval, URLSearchParams */
/**
 * Lifeboat dashboard: vanilla JS over the JSON API (no framework, no build step). Shows the jobs
 * from /status/summary, and for the selected job its backups, a size/duration chart and the run
 * log; starts backups and drills with the bearer token, asked once and kept in sessionStorage
 * (gone when the tab closes). Every value from the server is set as text, never as HTML.
 */
'use strict';

const TOKEN_KEY = 'lifeboat.token';
const REFRESH_MS = 10_000;
const SVG_NS = 'http://www.w3.org/2000/svg';

let selected = new URLSearchParams(window.location.search).get('job') || '';
let refreshTimer;

// ---------------------------------------------------------------------------------------------
// API

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function askToken(why) {
  const given = prompt(`${why}\nBearer token (server.token in lifeboat.yaml):`, '');
  if (given) sessionStorage.setItem(TOKEN_KEY, given.trim());
  updateTokenButton();
  return given ? given.trim() : '';
}

/** Fetches JSON; when reads are protected, asks for the token once and retries. */
async function api(path, opts = {}) {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const res = await fetch(path, { ...opts, headers });
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (res.status === 401 && !opts.method && !opts.retried && askToken('This server protects its status.'))
    return api(path, { ...opts, retried: true });
  return { status: res.status, body };
}

// ---------------------------------------------------------------------------------------------
// Formatting

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  // Tenths below 10 s, so a chart axis of 0.5 s steps doesn't read "1s, 1s".
  if (ms < 9950) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}s`;
  const s = Math.round(ms / 1000);
  // The two largest units, dropping a zero second one: "45s", "3m 20s", "2h", "1d 4h".
  const two = (a, ua, b, ub) => (b ? `${a}${ua} ${b}${ub}` : `${a}${ua}`);
  if (s < 60) return `${s}s`;
  if (s < 3600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

function ago(seconds) {
  return seconds < 60 ? 'just now' : `${duration(seconds * 1000)} ago`;
}

function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function badge(text, kind) {
  return el('span', { class: `badge dot ${kind || ''}` }, text);
}

function drillBadge(drill) {
  if (!drill) return badge('never', '');
  if (drill.result === 'passed') return badge('passed', 'ok');
  return badge(drill.result, 'bad');
}

function runBadge(result) {
  if (result === 'success') return badge('success', 'ok');
  if (result === 'running') return badge('running', 'run');
  return badge(result, 'bad');
}

function notice(text, bad) {
  const box = document.getElementById('notice');
  box.textContent = text;
  box.className = `notice${bad ? ' bad' : ''}`;
  box.hidden = false;
}

function updateTokenButton() {
  document.getElementById('token-button').textContent = token() ? 'Forget token' : 'Set token';
}

// ---------------------------------------------------------------------------------------------
// Jobs table (from /status/summary)

function renderHealth(summary) {
  const box = document.getElementById('health');
  box.replaceChildren();
  const items = [
    ...summary.sources.map((h) => ({ ...h, label: `source ${h.name}` })),
    ...summary.storages.map((h) => ({ ...h, label: `storage ${h.name}` })),
  ];
  for (const h of items) {
    const b = badge(`${h.label} ${h.up ? 'up' : 'down'}`, h.up ? 'ok' : 'bad');
    b.title = h.up ? `checked ${when(h.checkedAt)}` : `${h.error || 'down'} (checked ${when(h.checkedAt)})`;
    box.append(b);
  }
}

function jobRow(job) {
  const backup = job.lastBackup;
  const lastRunFailed = job.lastRun && job.lastRun.result === 'failure';
  const running = job.running || (job.lastRun && job.lastRun.result === 'running' ? job.lastRun : null);
  const backupCell = el(
    'td',
    {},
    backup ? ago(job.ageSeconds) : el('span', { class: 'muted' }, 'no backup yet'),
    backup ? el('span', { class: 'sub mono' }, backup.id || '') : null,
  );
  if (running) backupCell.append(' ', badge(`${running.kind} running`, 'run'));
  else if (lastRunFailed) {
    const b = badge(`last ${job.lastRun.kind} failed`, 'bad');
    b.title = job.lastRun.error || '';
    backupCell.append(' ', b);
  }
  const drill = job.lastDrill;
  const drillCell = el(
    'td',
    {},
    drillBadge(drill),
    drill ? el('span', { class: 'sub' }, when(drill.at)) : null,
  );
  if (drill && drill.result !== 'passed') drillCell.title = drill.outcome || drill.error || '';
  const start = (kind) => (event) => {
    event.stopPropagation();
    startRun(job.job, kind, event.currentTarget);
  };
  const row = el(
    'tr',
    { 'data-job': job.job, onclick: () => selectJob(job.job) },
    el('td', {}, el('strong', {}, job.job), el('span', { class: 'sub' }, `${job.backups} backups`)),
    backupCell,
    el('td', { class: 'num' }, bytes(job.size)),
    drillCell,
    el('td', { class: 'num' }, drill && drill.restoreMs !== null ? duration(drill.restoreMs) : '—'),
    el('td', {}, job.next.backup ? when(job.next.backup) : el('span', { class: 'muted' }, 'not scheduled')),
    el('td', {}, job.next.drill ? when(job.next.drill) : el('span', { class: 'muted' }, 'not scheduled')),
    el(
      'td',
      { class: 'actions' },
      el('button', { type: 'button', 'data-action': 'backup', onclick: start('backup') }, 'Back up'),
      el(
        'button',
        { type: 'button', class: 'secondary', 'data-action': 'drill', onclick: start('drill') },
        'Drill',
      ),
    ),
  );
  if (job.job === selected) row.classList.add('selected');
  return row;
}

async function loadSummary() {
  const { status, body } = await api('/status/summary');
  if (status !== 200) return notice(`Could not load the status: ${body.error}`, true);
  renderHealth(body);
  const rows = body.jobs.map(jobRow);
  const tbody = document.querySelector('#jobs tbody');
  tbody.replaceChildren(
    ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No jobs configured.'))]),
  );
  document.getElementById('updated').textContent =
    `Updated ${new Date(body.generatedAt).toLocaleTimeString()}`;
  if (!selected && body.jobs.length) selected = body.jobs[0].job;
  if (selected) await loadJob(selected);
}

// ---------------------------------------------------------------------------------------------
// One job: chart, backups, run log

async function selectJob(name) {
  selected = name;
  for (const tr of document.querySelectorAll('#jobs tbody tr'))
    tr.classList.toggle('selected', tr.dataset.job === name);
  await loadJob(name);
}

async function loadJob(name) {
  const q = encodeURIComponent(name);
  const [backups, runs] = await Promise.all([
    api(`/api/backups?job=${q}&limit=500`),
    api(`/api/runs?job=${q}&limit=50`),
  ]);
  if (name !== selected) return; // another job was picked meanwhile
  document.getElementById('detail').hidden = false;
  document.getElementById('detail-job').textContent = name;
  if (backups.status === 200) {
    renderBackups(backups.body);
    renderChart([...backups.body.backups].reverse());
  } else notice(`Could not load the backups of ${name}: ${backups.body.error}`, true);
  if (runs.status === 200) renderRuns(runs.body.runs);
}

function renderBackups(data) {
  document.getElementById('backup-count').textContent =
    `(${data.total}${data.error ? `, listing failed: ${data.error}` : ''})`;
  const rows = data.backups.map((b) =>
    el(
      'tr',
      { 'data-backup': b.id },
      el('td', { class: 'mono' }, b.id),
      el('td', {}, when(b.finishedAt)),
      el('td', { class: 'num' }, bytes(b.size)),
      el('td', { class: 'num' }, duration(b.durationMs)),
      el('td', {}, b.drill ? drillBadge(b.drill) : el('span', { class: 'muted' }, '—')),
    ),
  );
  const empty = el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No committed backup yet.'));
  document.querySelector('#backups tbody').replaceChildren(...(rows.length ? rows : [empty]));
}

function renderRuns(runs) {
  const rows = runs.map((r) => {
    const detail = r.error || (r.backupId ? r.backupId : '');
    return el(
      'tr',
      {},
      el('td', {}, when(r.startedAt)),
      el('td', {}, `${r.kind}`, el('span', { class: 'sub' }, r.trigger)),
      el('td', {}, runBadge(r.result)),
      el('td', { class: 'num' }, duration(r.durationMs)),
      el('td', { class: r.error ? 'wrap' : 'mono' }, detail),
    );
  });
  const empty = el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No runs recorded yet.'));
  document.querySelector('#runs tbody').replaceChildren(...(rows.length ? rows : [empty]));
}

// ---------------------------------------------------------------------------------------------
// Chart: stored size (area, left axis) and duration (dashed, right axis) per backup over time

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const STEPS = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** The smallest round number ≥ v (1, 1.5, 2, 2.5 … × 10^k), so axis labels read cleanly. */
function nice(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return STEPS.find((m) => m * p >= v) * p;
}

/** Like nice(), in whole minutes or hours once durations pass them. */
function niceMs(ms) {
  for (const unit of [3_600_000, 60_000]) if (ms > unit) return nice(ms / unit) * unit;
  return nice(ms);
}

/**
 * Time-axis labels fine enough to tell the ticks apart: days over a span of days, day and time
 * over hours, else clock times (with seconds over a few minutes), so a new deployment's first
 * backups don't read "Nov 22, Nov 22, Nov 22".
 */
function tickLabel(spanMs) {
  const day = { month: 'short', day: 'numeric' };
  const time = { hour: '2-digit', minute: '2-digit', ...(spanMs < 600_000 && { second: '2-digit' }) };
  const parts = spanMs >= 2 * 86_400_000 ? day : spanMs >= 43_200_000 ? { ...day, ...time } : time;
  return (t) => new Date(t).toLocaleString(undefined, parts);
}

function renderChart(backups) {
  const chart = document.getElementById('chart');
  chart.replaceChildren();
  const W = 960;
  const H = 240;
  const pad = { l: 70, r: 64, t: 12, b: 30 };
  if (backups.length === 0) {
    chart.append(
      svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' }, 'No backups yet'),
    );
    return;
  }
  const times = backups.map((b) => Date.parse(b.finishedAt));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const maxSize = nice(Math.max(...backups.map((b) => b.size), 1) * 1.05);
  const maxDur = niceMs(Math.max(...backups.map((b) => b.durationMs), 1) * 1.05);
  const x = (t) =>
    t1 === t0 ? (pad.l + W - pad.r) / 2 : pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const ys = (v) => H - pad.b - (v / maxSize) * (H - pad.t - pad.b);
  const yd = (v) => H - pad.b - (v / maxDur) * (H - pad.t - pad.b);

  for (const f of [0, 0.5, 1]) {
    const y = H - pad.b - f * (H - pad.t - pad.b);
    chart.append(svg('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'grid-line' }));
    chart.append(
      svg('text', { x: pad.l - 8, y: y + 4, 'text-anchor': 'end', class: 'axis' }, bytes(f * maxSize)),
    );
    chart.append(svg('text', { x: W - pad.r + 8, y: y + 4, class: 'axis' }, duration(f * maxDur)));
  }
  const ticks = t1 === t0 ? 1 : 5;
  const label = tickLabel(t1 - t0);
  let previous;
  for (let i = 0; i < ticks; i++) {
    const t = ticks === 1 ? t0 : t0 + ((t1 - t0) * i) / (ticks - 1);
    const anchor = ticks === 1 ? 'middle' : i === 0 ? 'start' : i === ticks - 1 ? 'end' : 'middle';
    const text = label(t);
    if (text === previous) continue; // ticks closer than the label's precision: one label is enough
    previous = text;
    chart.append(svg('text', { x: x(t), y: H - 8, 'text-anchor': anchor, class: 'axis' }, text));
  }

  const pts = backups.map((b, i) => [x(times[i]), ys(b.size), yd(b.durationMs)]);
  const line = (k) => pts.map((p, i) => `${i ? 'L' : 'M'}${p[0].toFixed(1)},${p[k].toFixed(1)}`).join(' ');
  const base = H - pad.b;
  chart.append(
    svg('path', { d: `${line(1)} L${pts.at(-1)[0]},${base} L${pts[0][0]},${base} Z`, class: 'size-area' }),
  );
  chart.append(svg('path', { d: line(1), class: 'size-line' }));
  chart.append(svg('path', { d: line(2), class: 'duration-line' }));
  const r = backups.length > 60 ? 2 : 3.5;
  backups.forEach((b, i) => {
    const tip = `${b.id}: ${bytes(b.size)}, ${duration(b.durationMs)}`;
    const dot = svg('circle', { cx: pts[i][0], cy: pts[i][1], r, class: 'size-dot' });
    dot.append(svg('title', {}, tip));
    const dd = svg('circle', { cx: pts[i][0], cy: pts[i][2], r: r - 0.5, class: 'duration-dot' });
    dd.append(svg('title', {}, tip));
    chart.append(dot, dd);
  });
}

// ---------------------------------------------------------------------------------------------
// Starting runs

async function startRun(job, kind, button) {
  const label = kind === 'backup' ? 'Backup' : 'Drill';
  if (!token() && !askToken(`Start a ${kind} of ${job}?`)) return;
  button.disabled = true;
  try {
    const { status, body } = await api(`/api/jobs/${encodeURIComponent(job)}/${kind}`, { method: 'POST' });
    if (status === 202) {
      notice(`${label} of ${job} started.`);
      selected = job;
      scheduleRefresh(1500);
    } else {
      if (status === 401 || status === 403) sessionStorage.removeItem(TOKEN_KEY);
      updateTokenButton();
      notice(`${label} of ${job} not started: ${body.error}`, true);
    }
  } catch (err) {
    notice(`${label} of ${job} not started: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function scheduleRefresh(ms) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(
    () => loadSummary().catch((err) => notice(`Refresh failed: ${err.message}`, true)),
    ms,
  );
}

document.getElementById('token-button').addEventListener('click', () => {
  if (token()) {
    sessionStorage.removeItem(TOKEN_KEY);
    updateTokenButton();
  } else askToken('Set the token for starting runs.');
});

updateTokenButton();
loadSummary().catch((err) => notice(`Could not load the status: ${err.message}`, true));
setInterval(() => scheduleRefresh(0), REFRESH_MS);
