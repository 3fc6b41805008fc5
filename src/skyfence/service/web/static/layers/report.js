// One map of an assess output (skyfence serve --reports DIR), chosen in the Assess reports panel.
import { apiCells, ramp, swatch } from '../lib.js';

export default {
  id: 'report',
  label: 'Assess report map',
  async load(ctx) {
    if (!ctx.reportLayer) throw new Error('choose a map in the Assess reports panel first');
    const [name, layer] = ctx.reportLayer.split('|');
    const data = await apiCells(`/api/v1/map/reports/${encodeURIComponent(name)}/layers/${encodeURIComponent(layer)}`);
    this.cells = data;
    this.key = ctx.reportLayer;
    this.min = Number(data.headers.get('X-Skyfence-Min'));
    this.max = Number(data.headers.get('X-Skyfence-Max'));
    this.units = data.headers.get('X-Skyfence-Units') || '';
    this.title = data.headers.get('X-Skyfence-Title') || layer;
    this.data = Array.from({ length: data.n }, (_, i) => i);
  },
  layers() {
    const { hex, values } = this.cells;
    return [new deck.H3HexagonLayer({
      id: `report-${this.key}`,
      data: this.data,
      getHexagon: (i) => hex[i],
      getFillColor: (i) => (values[i] === 255 ? [0, 0, 0, 0] : [...ramp(values[i] / 254), 210]),
      extruded: false,
      stroked: false,
      pickable: true,
    })];
  },
  value(i) { return this.min + (this.cells.values[i] / 254) * (this.max - this.min); },
  tooltip(i) { return `${this.title}: ${this.value(i).toPrecision(3)} ${this.units}`; },
  legend() {
    return [swatch(ramp(0), `${this.min.toPrecision(3)} ${this.units}`), swatch(ramp(1), `${this.max.toPrecision(3)} ${this.units}`),
      Object.assign(document.createElement('p'), { className: 'help', textContent: this.title })];
  },
};
