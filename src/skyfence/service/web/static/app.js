// The skyfence dashboard: sign-in, the map (MapLibre + deck.gl), the layer registry, policy workflow, audit view.
// Each layer is one module under layers/ exporting {id, load(ctx), layers(ctx), legend(ctx)[, frames, unload]};
// the server says which ones the signed-in role may see (GET /api/v1/map/layers).
import {
  ApiError, apiJson, request, setSession, signedIn, text, AVAILABILITY_COLORS, swatch,
} from './lib.js';

const MODULES = ['countries', 'availability', 'diff', 'coverage', 'report', 'ground', 'satellites', 'terminals',
  'alerts'];
const DEFAULT_ON = new Set(['countries', 'terminals', 'alerts']);
const $ = (id) => document.getElementById(id);

const state = { info: null, modules: {}, enabled: new Set(), frame: 0, waiters: [], diff: null, policySource: null };
window.skyfence = { state, ready: false };  // for the browser test and the benchmark

function message(content, kind = 'error') {
  const box = $('message');
  box.className = kind === 'info' ? 'info' : '';
  box.textContent = content || '';
}

function problemText(error) {
  if (error instanceof ApiError) {
    const fields = (error.errors || []).filter((e) => e.field).map((e) => `${e.field}: ${e.message}`);
    return fields.length && !error.message.includes(fields[0]) ? `${error.message} (${fields.join('; ')})` : error.message;
  }
  return String(error && error.message ? error.message : error);
}

// ------------------------------------------------------------------ the map

const map = new maplibregl.Map({
  container: 'map',
  style: {
    version: 8,
    sources: {},
    layers: [{ id: 'sea', type: 'background', paint: { 'background-color': '#d7e6f2' } }],
  },
  center: [60, 25],
  zoom: 1.3,
  attributionControl: false,
  renderWorldCopies: false,
});
map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: 'Natural Earth (public domain)' }));
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.getCanvas().setAttribute('aria-label', 'Map of the layers shown; use the layer list to change it');

const overlay = new deck.MapboxOverlay({
  interleaved: false,
  layers: [],
  getTooltip: ({ object, layer }) => (object !== undefined && object !== null && layer && state.modules[layer.props.module]?.tooltip
    ? state.modules[layer.props.module].tooltip(object, ctx) : null),
  onAfterRender: () => {
    const waiters = state.waiters;
    state.waiters = [];
    waiters.forEach((resolve) => resolve());
  },
});
map.addControl(overlay);

async function loadBasemap() {
  const response = await fetch('/api/v1/map/basemap');
  if (!response.ok) throw new Error('the basemap could not be loaded');
  const countries = await response.json();
  map.addSource('countries', { type: 'geojson', data: countries });
  map.addLayer({ id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': '#f4f1ea' } });
  map.addLayer({ id: 'borders', type: 'line', source: 'countries',
    paint: { 'line-color': '#6f7a85', 'line-width': 0.6 } });
  ctx.basemap = countries;
}

// A promise resolved after deck.gl has drawn the next frame (for performance marks), or after three animation
// frames without a draw (nothing changed on the map: deck.gl skips the frame).
function nextRender() {
  return new Promise((resolve) => {
    state.waiters.push(resolve);
    let frames = 0;
    const tick = () => { if (++frames >= 3) resolve(); else requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
}

function render() {
  const layers = [];
  for (const id of MODULES) {
    const module = state.modules[id];
    if (module && state.enabled.has(id) && module.loaded) {
      for (const layer of module.layers(ctx)) layers.push(layer.clone({ module: id }));
    }
  }
  overlay.setProps({ layers });
  renderLegend();
  return nextRender();
}

function renderLegend() {
  const body = $('legend-body');
  body.replaceChildren();
  for (const id of MODULES) {
    const module = state.modules[id];
    if (module && state.enabled.has(id) && module.loaded && module.legend) {
      body.append(text('h3', module.label || id), ...module.legend(ctx));
    }
  }
}

// ------------------------------------------------------------------ the time slider

function updateSlider() {
  const timed = MODULES.map((id) => state.modules[id]).find((m) => m && state.enabled.has(m.id) && m.loaded && m.frames);
  const slider = $('time-slider');
  if (!timed) {
    slider.disabled = true;
    slider.max = 0;
    $('time-label').textContent = 'no timed layer shown';
    return;
  }
  slider.disabled = false;
  slider.max = String(timed.frames - 1);
  state.frame = Math.min(state.frame, timed.frames - 1);
  slider.value = String(state.frame);
  $('time-label').textContent = timed.frameLabel(state.frame);
  slider.setAttribute('aria-valuetext', timed.frameLabel(state.frame));
}

$('time-slider').addEventListener('input', async (event) => {
  const frame = Number(event.target.value);
  performance.mark(`step-${frame}-start`);
  state.frame = frame;
  const timed = MODULES.map((id) => state.modules[id]).find((m) => m && state.enabled.has(m.id) && m.frames);
  if (timed) {
    $('time-label').textContent = timed.frameLabel(frame);
    event.target.setAttribute('aria-valuetext', timed.frameLabel(frame));
  }
  await render();
  performance.measure('coverage-step', `step-${frame}-start`);
});

// ------------------------------------------------------------------ layers

const ctx = {
  apiJson, request, render, message, problemText, nextRender,
  get frame() { return state.frame; },
  get info() { return state.info; },
  get diff() { return state.diff; },
  basemap: null,
  reportLayer: null,
  refresh: async (id) => {
    const module = state.modules[id];
    if (module && state.enabled.has(id) && (await module.load(ctx)) !== false) await render();
  },
};

async function setLayer(id, on) {
  const module = state.modules[id];
  const box = $(`layer-${id}`);
  if (on) {
    state.enabled.add(id);
    box.setAttribute('aria-busy', 'true');
    try {
      performance.mark(`layer-${id}-start`);
      await module.load(ctx);
      module.loaded = true;
      updateSlider();
      await render();
      performance.measure(`layer-${id}`, `layer-${id}-start`);
    } catch (error) {
      state.enabled.delete(id);
      box.checked = false;
      message(`${module.label}: ${problemText(error)}`);
    } finally {
      box.removeAttribute('aria-busy');
    }
  } else {
    state.enabled.delete(id);
    if (module.unload) module.unload(ctx);
    updateSlider();
    await render();
  }
  box.dataset.ready = 'true';
}

async function buildLayerList(info) {
  const fieldset = $('layers');
  fieldset.querySelectorAll('label').forEach((el) => el.remove());
  $('layers-empty').hidden = info.layers.length > 0;
  const ids = info.layers.map((l) => l.id);
  if (ids.includes('availability')) ids.splice(1, 0, 'countries');
  for (const id of ids) {
    const module = (await import(`./layers/${id}.js`)).default;
    const meta = info.layers.find((l) => l.id === id);
    module.label = meta ? meta.label : module.label;
    state.modules[id] = module;
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = `layer-${id}`;
    box.addEventListener('change', () => setLayer(id, box.checked));
    label.append(box, document.createTextNode(` ${module.label}`));
    fieldset.append(label);
  }
  for (const id of ids) {
    if (DEFAULT_ON.has(id)) {
      $(`layer-${id}`).checked = true;
      await setLayer(id, true);
    } else {
      $(`layer-${id}`).dataset.ready = 'true';
    }
  }
}

// ------------------------------------------------------------------ sign-in

const KEY_RE = /^sfk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

function signOut(reason) {
  setSession(null, 0, null);
  window.skyfence.ready = false;
  for (const id of [...state.enabled]) state.modules[id]?.unload?.(ctx);
  state.enabled.clear();
  state.modules = {};
  state.info = null;
  overlay.setProps({ layers: [] });
  $('layers').querySelectorAll('label').forEach((el) => el.remove());
  $('layers-empty').hidden = false;
  for (const id of ['policy-section', 'alerts-section', 'audit-section', 'reports-section']) $(id).hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  renderLegend();
  updateSlider();
  if (reason) message(reason);
}

$('signout').addEventListener('click', () => { signOut(); message('Signed out.', 'info'); });

$('signin').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('apikey').value.trim();
  if (!KEY_RE.test(key)) {
    message('That is not a skyfence API key: it looks like sfk_<16 hex digits>_<43 characters>. Ask an operator for one.');
    return;
  }
  message('Signing in...', 'info');
  try {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: key.slice(4, 20), client_secret: key });
    const response = await fetch('/api/v1/login/access-token', {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    if (!response.ok) {
      let detail = `sign-in failed (${response.status})`;
      try { detail = (await response.json()).detail || detail; } catch (_) { /* keep */ }
      message(`Invalid key: ${detail}`);
      return;
    }
    const token = await response.json();
    $('apikey').value = '';  // the key itself is not kept
    setSession(token.access_token, token.expires_in, () => {
      signOut('Your session has expired or your key was revoked: sign in again with your API key.');
    });
    await startSession();
  } catch (error) {
    message(`Sign-in failed: ${problemText(error)}`);
  }
});

async function startSession() {
  const info = await apiJson('/api/v1/map/layers');
  state.info = info;
  $('signin').hidden = true;
  $('who').hidden = false;
  const scope = info.terminal_id ? ` of terminal ${info.terminal_id}` : info.jurisdiction ? ` of ${info.jurisdiction}` : '';
  $('who-text').textContent = `Signed in: ${info.role}${scope} (key ${info.key_id})`;
  message('');
  const reader = info.role !== 'terminal';
  $('policy-section').hidden = !reader;
  $('alerts-section').hidden = !info.layers.some((l) => l.id === 'alerts');
  $('audit-section').hidden = !reader;
  $('reports-section').hidden = !info.reports;
  $('policy-activate').hidden = info.role !== 'operator';
  await buildLayerList(info);
  if (info.reports) await loadReports();
  window.skyfence.ready = true;
}

// ------------------------------------------------------------------ policy workflow

const MAX_POLICY_BYTES = 1_000_000;

$('policy-file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  if (file.size > MAX_POLICY_BYTES) {
    policyResult([text('p', `The file ${file.name} is ${file.size.toLocaleString()} bytes; a policy may be at most `
      + `${MAX_POLICY_BYTES.toLocaleString()} bytes. Split it with include files.`, 'error')]);
    event.target.value = '';
    return;
  }
  $('policy-text').value = await file.text();
  event.target.value = '';
});

function policyResult(nodes) { $('policy-result').replaceChildren(...nodes); }

$('policy-check').addEventListener('click', async () => {
  const source = $('policy-text').value;
  $('policy-activate').disabled = true;
  state.policySource = null;
  if (!source.trim()) { policyResult([text('p', 'Paste a policy or choose a file first.', 'error')]); return; }
  if (new Blob([source]).size > MAX_POLICY_BYTES) {
    policyResult([text('p', `The policy is over ${MAX_POLICY_BYTES.toLocaleString()} bytes; split it with include files.`, 'error')]);
    return;
  }
  policyResult([text('p', 'Validating and computing the diff against the active policy...', 'help')]);
  try {
    const diff = await apiJson('/api/v1/map/policy-diff', {
      method: 'POST', json: { source, reason: $('policy-reason').value || 'previewed in the dashboard' },
    });
    state.diff = diff;
    state.policySource = source;
    const nodes = [text('p', `Valid: ${diff.candidate.name} (version ${diff.candidate.version_id.slice(0, 12)}).`, 'ok')];
    nodes.push(text('p', `Against the active policy ${diff.active.name}: ${diff.cells.changed.toLocaleString()} of `
      + `${diff.cells.total.toLocaleString()} cells (H3 res ${diff.res}) change; about `
      + `${(diff.population.people || 0).toLocaleString()} people in cities change availability.`));
    const list = document.createElement('ul');
    list.id = 'diff-countries';
    for (const row of diff.countries.slice(0, 20)) {
      list.append(text('li', `${row.name || row.iso_a2}: ${row.from || 'none'} → ${row.to || 'none'}`));
    }
    nodes.push(list);
    policyResult(nodes);
    $('policy-activate').disabled = false;
    if (state.modules.diff) {
      $('layer-diff').checked = true;
      await setLayer('diff', true);
    }
  } catch (error) {
    const nodes = [text('p', `Invalid policy: ${error.message}`, 'error')];
    for (const e of (error.errors || [])) {
      const item = document.createElement('p');
      item.className = 'error';
      item.append(text('span', e.field, 'field'), document.createTextNode(`: ${e.message}`));
      nodes.push(item);
    }
    policyResult(nodes);
  }
});

$('policy-activate').addEventListener('click', async () => {
  if (!state.policySource) return;
  const reason = $('policy-reason').value || 'activated in the dashboard';
  try {
    const stored = await apiJson('/api/v1/policies', { method: 'POST', json: { source: state.policySource, reason } });
    const active = await apiJson(`/api/v1/policies/${stored.version_id}/activate`, { method: 'POST', json: { reason } });
    policyResult([text('p', `Activated ${active.name} (version ${active.version_id.slice(0, 12)}); ingestion now decides with it.`, 'ok')]);
    $('policy-activate').disabled = true;
    await ctx.refresh('availability');
    await ctx.refresh('countries');
  } catch (error) {
    policyResult([text('p', `Activation failed: ${problemText(error)}`, 'error')]);
  }
});

// ------------------------------------------------------------------ audit view

$('audit-load').addEventListener('click', async () => {
  try {
    let after = 0;
    let rows = [];
    for (let page = 0; page < 20; page++) {
      const result = await apiJson(`/api/v1/audit?limit=500&after=${after}`);
      rows = rows.concat(result.items).slice(-50);
      if (!result.next_after) break;
      after = result.next_after;
    }
    const body = $('audit-table').querySelector('tbody');
    body.replaceChildren();
    for (const row of rows.reverse()) {
      const tr = document.createElement('tr');
      for (const value of [row.seq, row.at, row.actor, row.action, `${row.resource_type} ${String(row.resource_id).slice(0, 16)}`]) {
        tr.append(text('td', String(value)));
      }
      body.append(tr);
    }
    $('audit-table').hidden = false;
  } catch (error) {
    $('audit-result').replaceChildren(text('p', `Audit log: ${problemText(error)}`, 'error'));
  }
});

$('audit-verify').addEventListener('click', async () => {
  $('audit-result').replaceChildren(text('p', 'Verifying the hash chain...', 'help'));
  try {
    const v = await apiJson('/api/v1/audit/verify');
    const line = v.ok
      ? text('p', `Chain intact: ${v.rows} rows, head ${v.head_seq} ${String(v.head_hash).slice(0, 16)}...`, 'ok')
      : text('p', `Chain BROKEN at row ${v.first_bad_seq}: ${v.problem}`, 'error');
    line.id = 'audit-verdict';
    $('audit-result').replaceChildren(line);
  } catch (error) {
    $('audit-result').replaceChildren(text('p', `Verify: ${problemText(error)}`, 'error'));
  }
});

// ------------------------------------------------------------------ assess reports

async function loadReports() {
  const { reports } = await apiJson('/api/v1/map/reports');
  const list = $('reports-list');
  const select = $('report-layer');
  list.replaceChildren();
  select.replaceChildren(new Option('(none)', ''));
  for (const report of reports) {
    const item = document.createElement('li');
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = `Open report ${report.name}`;
    open.addEventListener('click', async () => {
      const html = await (await request(`/api/v1/map/reports/${encodeURIComponent(report.name)}/report.html`)).blob();
      window.open(URL.createObjectURL(html), '_blank', 'noopener');
    });
    item.append(text('strong', `${report.title} `), text('span', `(${report.name}, ${report.time || ''}) `), open);
    list.append(item);
    for (const layer of report.layers) {
      select.append(new Option(`${report.name}: ${layer.title || layer.id}`, `${report.name}|${layer.id}`));
    }
  }
  if (!reports.length) list.append(text('li', 'No assess outputs in the reports directory.'));
}

$('report-layer').addEventListener('change', async (event) => {
  ctx.reportLayer = event.target.value || null;
  if (state.modules.report) {
    $('layer-report').checked = Boolean(ctx.reportLayer);
    await setLayer('report', Boolean(ctx.reportLayer));
  }
});

// ------------------------------------------------------------------ start

map.on('load', async () => {
  try {
    await loadBasemap();
  } catch (error) {
    message(problemText(error));
  }
  window.skyfence.mapLoaded = true;
});
window.skyfence.signedIn = signedIn;
window.skyfence.render = render;
window.skyfence.overlay = overlay;
window.skyfence.ctx = ctx;
window.skyfence.colors = AVAILABILITY_COLORS;
window.skyfence.swatch = swatch;
