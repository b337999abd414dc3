/* global window, document, EventSource, setTimeout, clearTimeout, uPlot */
// The run page's browser code (plain ES2020, no build step): draws the curves, the device panel
// and the SPU state panel with uPlot from a snapshot (embedded in a static report, or fetched)
// and, on a live server, keeps them current from server-sent events. The snapshot's shape is
// LiveSnapshot in snapshot.ts. window.tngdLive exposes the charts for the browser tests.
(function () {
  'use strict';
  const boot = JSON.parse(document.getElementById('tngd-boot').textContent);
  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  const DASHES = [undefined, [6, 3], [2, 3], [10, 4, 2, 4]];
  const S = { title: '', notes: [], runs: [], generatedAt: '' };
  const charts = {};
  const live = { charts: charts, state: S, events: 0, snapshots: 0, status: 'init' };
  window.tngdLive = live;
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids) e.append(k instanceof window.Node ? k : document.createTextNode(String(k)));
    return e;
  };
  const fmt = (v, d = 4) => (typeof v !== 'number' || !isFinite(v) ? '—' : Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(d))));
  const fmtBytes = (v) => (!isFinite(v) ? '—' : v >= 1e6 ? (v / 1e6).toFixed(2) + ' MB' : v >= 1e3 ? (v / 1e3).toFixed(1) + ' kB' : v.toFixed(0) + ' B');

  // ---------- series helpers ----------
  const optimizers = () => [...new Set(S.runs.map((r) => r.optimizer))];
  const colorOf = (run) => PALETTE[optimizers().indexOf(run.optimizer) % PALETTE.length];
  const dashOf = (run) => DASHES[S.runs.filter((r) => r.optimizer === run.optimizer).indexOf(run) % DASHES.length];
  const runName = (run) => (S.runs.some((r) => r !== run && r.optimizer === run.optimizer) || run.seed !== 1 ? run.optimizer + ' s' + run.seed : run.optimizer);

  function xOf(mode, recs) {
    if (mode === 'iter') return recs.map((r) => r.iter);
    if (mode === 'wall') return recs.map((r) => r.wallSeconds);
    let c = 0; // compute time: the host's digital work plus the device's time, cumulated
    return recs.map((r) => (c += (r.hostSeconds || 0) + (r.deviceSeconds || 0)));
  }

  /** uPlot's aligned data from per-series [xs, ys]: the union of x, nulls where a series has none. */
  function align(pairs, logY) {
    const xsAll = [...new Set(pairs.flatMap((p) => p[0]))].filter((x) => typeof x === 'number' && isFinite(x)).sort((a, b) => a - b);
    const pos = new Map(xsAll.map((x, i) => [x, i]));
    const cols = pairs.map(([xs, ys]) => {
      const col = new Array(xsAll.length).fill(null);
      xs.forEach((x, i) => {
        const y = ys[i];
        if (pos.has(x) && typeof y === 'number' && isFinite(y) && (!logY || y > 0)) col[pos.get(x)] = y;
      });
      return col;
    });
    return [xsAll, ...cols];
  }

  function padLog(u, min, max) {
    if (!(min > 0) || !(max > 0)) return [1, 10];
    return min === max ? [min / 1.5, max * 1.5] : [min / 1.08, max * 1.08];
  }

  /** Round ticks on a linear range (1-2-2.5-5 steps), as svg.ts's niceTicks. */
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  }
  /**
   * Log-axis ticks as svg.ts's logTicks: linear round steps inside a decade, 1-2-5 over a few,
   * powers of ten over many — never the range's own ends (uPlot's default would label 1.39).
   */
  function logSplits(u, axisIdx, min, max) {
    if (!(min > 0) || !(max > min)) return [min];
    const decades = Math.log10(max / min);
    if (decades < 1) return niceTicks(min, max, 6).filter((t) => t > 0);
    const mults = decades <= 2.5 ? [1, 2, 5] : [1], stride = Math.max(1, Math.ceil(decades / 6)), out = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      if (mults.length === 1 && e % stride !== 0) continue;
      for (const m of mults) {
        const t = Number((m * Math.pow(10, e)).toPrecision(12));
        if (t >= min * (1 - 1e-9) && t <= max * (1 + 1e-9)) out.push(t);
      }
    }
    return out;
  }

  function axisValues(pct) {
    return (u, vals) => vals.map((v) => (v === null ? '' : pct ? fmt(v * 100, 3) + '%' : fmt(v, 3)));
  }

  /** (Re)draws chart `id` in `host`; series: [{label, color, dash, width, alpha}]. */
  function draw(id, host, o) {
    const width = Math.max(320, Math.min(720, host.clientWidth || 640));
    const key = JSON.stringify([o.series.map((s) => s.label), o.logX, o.logY, o.xLabel, width]);
    const old = charts[id];
    if (old && old._key === key) {
      old.setData(o.data);
      return;
    }
    if (old) old.destroy();
    host.textContent = '';
    const opts = {
      title: o.title,
      width: width,
      height: o.height || 260,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: { time: false, distr: o.logX ? 3 : 1, log: 10, ...(o.logX ? { range: padLog } : {}) },
        // a log range snapped to whole decades would leave most of the chart empty
        y: { distr: o.logY ? 3 : 1, log: 10, ...(o.logY ? { range: padLog } : {}) },
      },
      axes: [
        { label: o.xLabel + (o.logX ? ' (log)' : ''), values: axisValues(false), size: 40, ...(o.logX ? { splits: logSplits } : {}) },
        // our log splits are already few and round: let uPlot keep them closer than its 30 px default
        { label: o.yLabel + (o.logY ? ' (log)' : ''), values: axisValues(o.pct), size: 60, ...(o.logY ? { splits: logSplits, space: 16 } : {}) },
      ],
      series: [{ label: o.xLabel }].concat(
        // sparse series (test metrics every K iterations) show their points: one evaluation is still visible
        o.series.map((s, i) => ({ label: s.label, stroke: s.color, dash: s.dash, width: s.width || 1.5, spanGaps: true, alpha: s.alpha,
          points: { show: o.data[i + 1].filter((v) => v !== null).length * 8 < o.data[0].length || o.data[i + 1].filter((v) => v !== null).length < 3, size: 6, fill: s.color } })),
      ),
    };
    const u = new uPlot(opts, o.data, host);
    u._key = key;
    charts[id] = u;
  }

  // ---------- curves ----------
  const CURVES = [
    { id: 'train-loss', key: 'trainLoss', title: 'Training loss (mini-batch)', y: 'train loss', logY: true },
    { id: 'test-loss', key: 'testLoss', title: 'Test loss', y: 'test loss', logY: true },
    { id: 'train-acc', key: 'trainAccuracy', title: 'Training accuracy (mini-batch)', y: 'train accuracy', pct: true },
    { id: 'test-acc', key: 'testAccuracy', title: 'Test accuracy', y: 'test accuracy', pct: true },
  ];
  const X_LABEL = { iter: 'iteration', wall: 'wall time (s)', compute: 'compute time (s)' };

  function renderCurves() {
    const mode = $('x-mode').value;
    for (const c of CURVES) {
      const runs = S.runs.filter((r) => r.metrics.some((m) => typeof m[c.key] === 'number'));
      const host = $('chart-' + c.id);
      if (!runs.length) {
        host.textContent = c.title + ': no data yet';
        if (charts[c.id]) charts[c.id].destroy();
        delete charts[c.id];
        continue;
      }
      const pairs = runs.map((r) => [xOf(mode, r.metrics), r.metrics.map((m) => m[c.key])]);
      draw(c.id, host, {
        title: c.title,
        xLabel: X_LABEL[mode],
        yLabel: c.y,
        logX: mode !== 'iter',
        logY: c.logY,
        pct: c.pct,
        data: align(pairs, c.logY),
        series: runs.map((r) => ({ label: runName(r), color: colorOf(r), dash: dashOf(r) })),
      });
    }
  }

  // ---------- summary ----------
  function renderSummary() {
    const rows = S.runs.map((r) => {
      const m = r.metrics;
      const last = (k) => { for (let i = m.length - 1; i >= 0; i--) if (typeof m[i][k] === 'number') return m[i][k]; return NaN; };
      const tail = m.slice(-10).map((x) => x.trainLoss).filter((v) => typeof v === 'number');
      const total = r.config && (r.config.iters || null);
      const wall = last('wallSeconds');
      const rate = m.length > 1 ? (m.length - 1) / (m[m.length - 1].wallSeconds - m[0].wallSeconds) : NaN;
      return [runName(r), String(m.length ? m[m.length - 1].iter : 0) + (total ? ' / ' + total : ''), fmt(tail.reduce((a, b) => a + b, 0) / tail.length), fmt(last('testLoss')),
        isFinite(last('testAccuracy')) ? (100 * last('testAccuracy')).toFixed(1) + '%' : '—', fmt(wall, 3), fmt(rate, 3)];
    });
    const t = el('table', { class: 'summary' }, el('thead', {}, el('tr', {}, ...['run', 'iterations', 'train loss (last 10)', 'test loss', 'test acc', 'wall s', 'it/s'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
    $('summary').replaceChildren(t);
    const s = S.summary;
    $('seed-summary').replaceChildren(...(s ? [el('h3', {}, 'Summary'), el('table', { class: 'summary' }, el('thead', {}, el('tr', {}, ...s.headers.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...s.rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c)))))), el('p', { class: 'muted' }, s.note)] : []));
  }

  // ---------- device panel ----------
  function rateOf(samples, key) {
    if (!samples || samples.length < 2) return { last: NaN, mean: NaN };
    const b = samples[samples.length - 1], f = samples[0];
    // "now": over the last second or more (the closing snapshot may follow the previous at once)
    let j = samples.length - 2;
    while (j > 0 && b.tSeconds - samples[j].tSeconds < 1) j--;
    const a = samples[j];
    return { last: (b[key] - a[key]) / Math.max(1e-9, b.tSeconds - a.tSeconds), mean: (b[key] - f[key]) / Math.max(1e-9, b.tSeconds - f.tSeconds) };
  }

  function renderDevice() {
    const runs = S.runs.filter((r) => r.device);
    const box = $('device-cards');
    if (!runs.length) {
      box.replaceChildren(el('p', { class: 'muted' }, S.runs.length ? 'No run here uses a device (digital optimizers only).' : 'No runs yet.'));
      return;
    }
    box.replaceChildren(...runs.map((r) => {
      const d = r.device, ls = d.linkSamples, last = ls.length ? ls[ls.length - 1] : null;
      const out = rateOf(ls, 'bytesOut'), inn = rateOf(ls, 'bytesIn');
      const sum = (k) => r.metrics.reduce((a, m) => a + (typeof m[k] === 'number' ? m[k] : 0), 0);
      const kv = [
        ['device', d.identity.vendor + ' ' + d.identity.model + ' (serial ' + d.identity.serial + ')'],
        ['firmware', d.identity.firmware], ['protocol', d.protocol.major + '.' + d.protocol.minor + ' (schema ' + d.schemaFingerprint + ')'],
        ['profile', d.profile === null ? 'hardware' : d.profile], ['link', d.link],
        ['DAC / ADC bits', (d.capabilities.dacBits || 'not quantised') + ' / ' + (d.capabilities.adcBits || 'not quantised') + ', full scale ' + fmt(d.capabilities.fullScale)], ['τ', fmt(d.capabilities.tauSeconds) + ' s'],
        ['round trip', last && last.rttMs !== null ? fmt(last.rttMs, 3) + ' ms (median)' : '—'],
        ['retries / timeouts', last ? last.retries + ' / ' + last.timeouts : '—'], ['late replies', last ? String(last.lateReplies) : '—'],
        ['reconnects / bad frames', last ? last.reconnects + ' / ' + last.badFrames : '—'], ['device errors', last ? String(last.deviceErrors) : '—'],
        ['host → device', fmtBytes(out.last) + '/s now, ' + fmtBytes(out.mean) + '/s mean' + (last ? ', ' + fmtBytes(last.bytesOut) + ' in all' : '')],
        ['device → host', fmtBytes(inn.last) + '/s now, ' + fmtBytes(inn.mean) + '/s mean' + (last ? ', ' + fmtBytes(last.bytesIn) + ' in all' : '')],
        ['DAC clips (i16 uploads)', String(sum('dacClips'))], ['ADC clips', String(sum('adcClips'))], ['rail saturations', String(sum('railSaturations'))],
      ];
      return el('div', { class: 'card device', 'data-run': r.key }, el('h3', {}, runName(r)),
        el('table', { class: 'kv' }, ...kv.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)))));
    }));
    draw('device-time', $('chart-device-time'), {
      title: 'Device vs host time per iteration', xLabel: 'iteration', yLabel: 'seconds', logY: true,
      data: align(runs.flatMap((r) => [[xOf('iter', r.metrics), r.metrics.map((m) => m.deviceSeconds)], [xOf('iter', r.metrics), r.metrics.map((m) => m.hostSeconds)]]), true),
      series: runs.flatMap((r) => [{ label: runName(r) + ' device', color: colorOf(r), dash: dashOf(r) }, { label: runName(r) + ' host', color: '#555', dash: [4, 3] }]),
    });
    draw('device-clips', $('chart-device-clips'), {
      title: 'DAC clips, ADC clips and rail saturations per run', xLabel: 'iteration', yLabel: 'count',
      data: align(runs.flatMap((r) => ['dacClips', 'adcClips', 'railSaturations'].map((k) => [xOf('iter', r.metrics), r.metrics.map((m) => (typeof m[k] === 'number' ? m[k] : null))])), false),
      series: runs.flatMap((r) => [['DAC clips', '#9467bd'], ['ADC clips', '#d62728'], ['rail sat.', '#ff7f0e']].map(([n, c]) => ({ label: runName(r) + ' ' + n, color: c, dash: dashOf(r) }))),
    });
  }

  // ---------- SPU state panel ----------
  function renderState() {
    const runs = S.runs.filter((r) => r.state && r.state.traces.length);
    const box = $('state-charts');
    const sel = $('state-run');
    const keys = runs.map((r) => r.key);
    if ([...sel.options].map((o) => o.value).join() !== keys.join()) {
      const keep = sel.value;
      sel.replaceChildren(...runs.map((r) => el('option', { value: r.key }, runName(r))));
      sel.value = keys.includes(keep) ? keep : keys[keys.length - 1] || '';
    }
    const run = runs.find((r) => r.key === sel.value);
    if (!run) {
      const notes = S.runs.filter((r) => r.state && r.state.note).map((r) => runName(r) + ': ' + r.state.note);
      box.replaceChildren(el('p', { class: 'muted' }, 'No sampled device runs yet (TNGD runs on a device with the sample-stream feature record a few cells’ x(t) every few seconds).'),
        ...notes.map((n) => el('p', { class: 'muted' }, n)));
      for (const id of Object.keys(charts)) if (id.startsWith('state-')) { charts[id].destroy(); delete charts[id]; }
      return;
    }
    const st = run.state, traces = st.traces.slice(-3), latest = traces[traces.length - 1];
    $('state-note').textContent = 'run ' + runName(run) + ': ' + st.traced + ' runs sampled, costing ' + fmt(st.costSeconds, 3) + ' s of host time; showing runs of iterations ' +
      traces.map((t) => t.iter).join(', ') + ' (κ₀ = ' + fmt(latest.kappa0) + ', Δ = ' + fmt(latest.samplePeriodTau) + 'τ).';
    if (box.dataset.run !== run.key || box.children.length !== latest.cells.length) {
      box.dataset.run = run.key;
      box.replaceChildren(...latest.cells.map((c, i) => el('div', { class: 'chart', id: 'chart-state-' + i })));
    }
    latest.cells.forEach((cell, ci) => {
      const pairs = [], series = [];
      traces.forEach((t, ti) => {
        const k = t.cells.indexOf(cell);
        if (k < 0) return;
        const newest = ti === traces.length - 1;
        pairs.push([t.tTau, t.x[k]]);
        series.push({ label: 'x(t), iteration ' + t.iter, color: newest ? '#1f77b4' : '#9ecae1', width: newest ? 1.5 : 1 });
      });
      const xs = latest.tTau, xv = latest.x[ci];
      let s = 0, n = 0;
      const avg = xv.map((v) => (v === null ? null : ((s += v), (n += 1), s / n)));
      pairs.push([xs, avg]);
      series.push({ label: 'running time-average', color: '#2ca02c', width: 2 });
      if (latest.target) {
        const g = latest.target[ci], sd = latest.sd ? latest.sd[ci] : NaN;
        pairs.push([xs, xs.map(() => g)]);
        series.push({ label: 'target A⁻¹g = ' + fmt(g), color: '#d62728', dash: [6, 3], width: 1.5 });
        if (isFinite(sd) && sd > 0) {
          pairs.push([xs, xs.map(() => g + 2 * sd)], [xs, xs.map(() => g - 2 * sd)]);
          series.push({ label: '±2σ from κ₀ (σ = ' + fmt(sd, 3) + ')', color: '#ff7f0e', dash: [2, 3], width: 1 }, { label: '−2σ', color: '#ff7f0e', dash: [2, 3], width: 1 });
        }
      }
      draw('state-' + ci, $('chart-state-' + ci), { title: 'cell ' + cell, xLabel: 'analog time (τ)', yLabel: 'x', data: align(pairs, false), series: series, height: 240 });
    });
  }

  // ---------- page ----------
  function renderHeader() {
    document.title = S.title || 'tngd run';
    $('title').textContent = S.title || 'tngd run';
    $('notes').replaceChildren(...(S.notes || []).map((n) => el('p', {}, n)), ...S.runs.flatMap((r) => r.problems.map((p) => el('p', { class: 'problem' }, p))));
  }
  let pending = null;
  function render() {
    pending = null;
    renderHeader();
    renderSummary();
    renderCurves();
    renderDevice();
    renderState();
    live.renders = (live.renders || 0) + 1;
  }
  function schedule() {
    if (!pending) pending = setTimeout(render, 150);
  }
  function setStatus(s, text) {
    live.status = s;
    const b = $('status');
    b.className = 'status ' + s;
    b.textContent = text;
  }
  function load(snap) {
    S.title = snap.title;
    S.notes = snap.notes;
    S.generatedAt = snap.generatedAt;
    S.runs = snap.runs;
    S.summary = snap.summary || null;
    live.snapshots++;
  }
  $('x-mode').addEventListener('change', renderCurves);
  $('state-run').addEventListener('change', renderState);
  window.addEventListener('resize', schedule);

  if (boot.mode === 'static') {
    load(boot.snapshot);
    setStatus('static', 'report written ' + S.generatedAt);
    render();
    return;
  }
  // Live: the server sends a full snapshot on every (re)connection, then appends; EventSource
  // reconnects by itself after the server restarts, and a reload simply connects again.
  let es = null, retry = null;
  function connect() {
    es = new EventSource(boot.events);
    es.addEventListener('snapshot', (e) => { load(JSON.parse(e.data)); setStatus('live', 'live · connected'); render(); });
    es.addEventListener('metrics', (e) => {
      const m = JSON.parse(e.data), run = S.runs.find((r) => r.key === m.key);
      if (!run) return;
      if (m.reset) run.metrics = [];
      run.metrics.push(...m.records);
      live.events++;
      schedule();
    });
    es.addEventListener('run', (e) => {
      const r = JSON.parse(e.data), i = S.runs.findIndex((x) => x.key === r.key);
      if (i >= 0) S.runs[i] = Object.assign(S.runs[i], r, { metrics: r.metrics || S.runs[i].metrics });
      else S.runs.push(r);
      S.runs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      live.events++;
      schedule();
    });
    es.onerror = () => {
      setStatus('offline', 'server unreachable · retrying');
      if (es.readyState === 2) { clearTimeout(retry); retry = setTimeout(connect, 2000); }
    };
  }
  setStatus('connecting', 'connecting…');
  connect();
})();
