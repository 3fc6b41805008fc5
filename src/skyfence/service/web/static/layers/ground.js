// Gateways and PoPs of the ground-segment dataset (operational filled, planned hollow).
import { apiJson, swatch } from '../lib.js';

const COLORS = { gateway: [29, 78, 137], pop: [200, 80, 0] };

export default {
  id: 'ground',
  label: 'Gateways and PoPs',
  async load() {
    this.doc = await apiJson('/api/v1/map/ground');
  },
  layers() {
    return [new deck.ScatterplotLayer({
      id: 'ground',
      data: this.doc.sites,
      getPosition: (s) => [s.lon_deg, s.lat_deg],
      getRadius: (s) => (s.kind === 'pop' ? 6 : 4),
      radiusUnits: 'pixels',
      stroked: true,
      filled: true,
      getFillColor: (s) => (s.status === 'operational' ? [...COLORS[s.kind], 230] : [255, 255, 255, 120]),
      getLineColor: (s) => COLORS[s.kind],
      lineWidthMinPixels: 1.5,
      pickable: true,
    })];
  },
  tooltip(s) { return `${s.kind} ${s.name} (${s.country}, ${s.status})`; },
  legend() {
    const n = (kind) => this.doc.sites.filter((s) => s.kind === kind).length;
    return [swatch(COLORS.gateway, `gateway (${n('gateway')})`), swatch(COLORS.pop, `PoP (${n('pop')})`),
      Object.assign(document.createElement('p'), { className: 'help', textContent: `hollow: planned; ${this.doc.source}` })];
  },
};
