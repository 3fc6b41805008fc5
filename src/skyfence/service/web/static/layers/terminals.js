// Each terminal's last fix, coloured by its decision (a terminal key sees only its own terminal); refreshed.
import { apiJson, DECISION_COLORS, swatch } from '../lib.js';

export default {
  id: 'terminals',
  label: "Terminals' last fixes",
  async load(ctx) {
    const doc = await apiJson('/api/v1/map/terminals');
    const same = this.doc && JSON.stringify(doc) === JSON.stringify(this.doc);
    if (!same) this.doc = doc;
    if (!this.timer) {
      this.timer = setInterval(() => ctx.refresh('terminals').catch(() => {}), 5000);
    }
    return !same;  // false: nothing to redraw
  },
  unload() { clearInterval(this.timer); this.timer = null; },
  layers() {
    return [new deck.ScatterplotLayer({
      id: 'terminals',
      data: this.doc.terminals,
      getPosition: (t) => [t.lon_deg, t.lat_deg],
      radiusUnits: 'pixels',
      getRadius: 7,
      stroked: true,
      getLineColor: [255, 255, 255],
      lineWidthMinPixels: 1.5,
      getFillColor: (t) => DECISION_COLORS[t.decision] || [0, 0, 0],
      pickable: true,
    })];
  },
  tooltip(t) { return `terminal ${t.terminal_id}: ${t.decision} (${t.rule}) at ${t.time}\n${t.reason}`; },
  legend() {
    return [...Object.entries(DECISION_COLORS).map(([d, c]) => swatch(c, d)),
      Object.assign(document.createElement('p'), { className: 'help', textContent: `${this.doc.terminals.length} terminal(s)` })];
  },
};
