// The policy diff: cells whose availability changes if the checked policy is activated (from the policy panel).
import { AVAILABILITY_COLORS, swatch } from '../lib.js';

export default {
  id: 'diff',
  label: 'Policy diff',
  async load(ctx) {
    this.diff = ctx.diff;
  },
  layers() {
    if (!this.diff) return [];
    const cells = this.diff.cells;
    const rows = cells.ids.map((id, i) => ({ id, from: cells.from[i], to: cells.to[i] }));
    return [new deck.H3HexagonLayer({
      id: `diff-${this.diff.candidate.version_id}`,
      data: rows,
      getHexagon: (r) => r.id,
      getFillColor: (r) => [...(AVAILABILITY_COLORS[r.to] || [0, 0, 0]), 230],
      getLineColor: [20, 20, 20, 255],
      lineWidthMinPixels: 1,
      stroked: true,
      extruded: false,
      pickable: true,
    })];
  },
  tooltip(r) { return `cell ${r.id}: ${r.from} → ${r.to}`; },
  legend() {
    if (!this.diff) return [Object.assign(document.createElement('p'), { className: 'help', textContent: 'Check a policy in the Policy panel to draw its diff.' })];
    const transitions = this.diff.cells.transitions;
    return Object.keys(transitions).map((t) => swatch(AVAILABILITY_COLORS[t.split(' -> ')[1]] || [0, 0, 0], `${t}: ${transitions[t]} cells`));
  },
};
