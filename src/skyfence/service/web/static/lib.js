// Shared helpers of the dashboard: the session (token in memory only), API calls with problem+json errors,
// the SFC1 cell payload reader and colours.  No storage API is used: closing the tab forgets the token.

const session = { token: null, expiresAt: 0, onExpired: null };

export class ApiError extends Error {
  constructor(status, detail, errors) {
    super(detail);
    this.status = status;
    this.errors = errors || [];
  }
}

export function setSession(token, expiresInS, onExpired) {
  session.token = token;
  session.expiresAt = token ? Date.now() + expiresInS * 1000 : 0;
  session.onExpired = onExpired;
}

export function signedIn() { return session.token !== null; }
export function authHeader() { return session.token ? { Authorization: `Bearer ${session.token}` } : {}; }

async function problem(response) {
  let detail = `${response.status} ${response.statusText}`;
  let errors = [];
  try {
    const body = await response.json();
    detail = body.detail || body.title || detail;
    errors = body.errors || [];
  } catch (_) { /* not JSON: keep the status line */ }
  return new ApiError(response.status, detail, errors);
}

// fetch() an API path with the bearer token; a 401 ends the session (expired or revoked) with a clear message.
export async function request(path, options = {}) {
  const headers = { ...authHeader(), ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    const error = await problem(response);
    if (response.status === 401 && session.token && session.onExpired) session.onExpired(error);
    throw error;
  }
  return response;
}

export async function apiJson(path, options = {}) { return (await request(path, options)).json(); }

// The SFC1 payload (skyfence.service.web.encoding): 16-byte header, uint64 H3 ids, uint8 values [frames, cells].
export async function apiCells(path, options = {}) {
  const response = await request(path, options);
  const buffer = await response.arrayBuffer();
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== 'SFC1') throw new ApiError(0, `${path}: not a cell payload`);
  const n = view.getUint32(4, true);
  const frames = view.getUint32(8, true);
  const ids = new BigUint64Array(buffer, 16, n);
  const hex = new Array(n);
  for (let i = 0; i < n; i++) hex[i] = ids[i].toString(16);
  const values = new Uint8Array(buffer, 16 + 8 * n, frames * n);
  return { n, frames, hex, values, headers: response.headers, bytes: buffer.byteLength };
}

export const AVAILABILITY_COLORS = {
  served: [27, 158, 119], degraded: [230, 171, 2], registered_only: [117, 112, 179],
  coming_soon: [102, 166, 30], pending_regulatory: [166, 118, 29], unknown: [153, 153, 153],
  exclude: [120, 120, 120], blacklisted: [60, 60, 60], denied: [217, 95, 2], no_rule: [222, 222, 222],
};
export const DECISION_COLORS = { allow: [27, 158, 119], degrade: [230, 171, 2], deny: [200, 30, 30] };

// A sequential ramp (viridis-like) for 0..1.
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function ramp(t) {
  const x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + f * (RAMP[i + 1][k] - c)));
}

export function swatch(color, label) {
  const div = document.createElement('div');
  const box = document.createElement('span');
  box.className = 'swatch';
  box.style.background = `rgb(${color.join(',')})`;
  div.append(box, document.createTextNode(label));
  return div;
}

export function text(tag, content, className) {
  const el = document.createElement(tag);
  el.textContent = content;
  if (className) el.className = className;
  return el;
}

// Split a lon/lat path where it crosses the antimeridian (a 358° jump would draw a line across the map).
export function splitPath(lats, lons) {
  const parts = [];
  let current = [];
  for (let i = 0; i < lats.length; i++) {
    if (current.length && Math.abs(lons[i] - current[current.length - 1][0]) > 180) {
      parts.push(current);
      current = [];
    }
    current.push([lons[i], lats[i]]);
  }
  if (current.length > 1) parts.push(current);
  return parts;
}
