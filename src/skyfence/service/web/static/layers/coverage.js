// Satellites in view per cell over time (computed on request by the server's coverage engine), with the slider.
import { apiCells, ramp, swatch } from '../lib.js';

export default {
  id: 'coverage',
  label: 'Satellites in view over time',
  region: 'TW',
  res: 5,
  steps: 1440,
  stepS: 60,
  async load(ctx) {
    const params = new URLSearchParams({ region: this.region, res: this.res, steps: this.steps, step_s: this.stepS });
    const data = await apiCells(`/api/v1/map/coverage?${params}`);
    this.cells = data;
    this.frames = data.frames;
    this.start = new Date(data.headers.get('X-Skyfence-Start'));
    this.step = Number(data.headers.get('X-Skyfence-Step-S'));
    this.source = data.headers.get('X-Skyfence-Constellation');
    this.regionName = data.headers.get('X-Skyfence-Region');
    let max = 1;
    for (const v of data.values) if (v !== 255 && v > max) max = v;
    this.max = max;
    this.data = Array.from({ length: data.n }, (_, i) => i);
  },
  frameLabel(frame) {
    const t = new Date(this.start.getTime() + frame * this.step * 1000);
    return `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC (step ${frame + 1} of ${this.frames})`;
  },
  layers(ctx) {
    const frame = Math.min(ctx.frame, this.frames - 1);
    const { hex, values, n } = this.cells;
    const offset = frame * n;
    const max = this.max;
    return [new deck.H3HexagonLayer({
      id: 'coverage',
      data: this.data,
      getHexagon: (i) => hex[i],
      getFillColor: (i) => [...ramp(values[offset + i] / max), 200],
      updateTriggers: { getFillColor: frame },
      extruded: false,
      stroked: false,
      pickable: true,
    })];
  },
  tooltip(i, ctx) {
    return `cell ${this.cells.hex[i]}: ${this.cells.values[ctx.frame * this.cells.n + i]} satellites in view`;
  },
  legend() {
    return [swatch(ramp(0), '0 satellites in view'), swatch(ramp(0.5), `${Math.round(this.max / 2)}`),
      swatch(ramp(1), `${this.max} or more`),
      Object.assign(document.createElement('p'), { className: 'help', textContent: `${this.regionName}, H3 res ${this.res}, ${this.source}, elevation mask 25°` })];
  },
};
