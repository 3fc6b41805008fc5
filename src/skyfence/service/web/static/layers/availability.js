// Availability per H3 cell under the active policy: one binary payload (H3 ids + a category byte each).
import { apiCells, apiJson, AVAILABILITY_COLORS, swatch } from '../lib.js';

export default {
  id: 'availability',
  label: 'Availability per H3 cell',
  async load() {
    performance.mark('availability-fetch-start');
    const [meta, cells] = await Promise.all([
      apiJson('/api/v1/map/availability?res=3'), apiCells('/api/v1/map/availability/cells?res=3')]);
    performance.mark('availability-fetch-end');
    this.meta = meta;
    this.cells = cells;
    this.data = Array.from({ length: cells.n }, (_, i) => i);
    this.version = `${meta.policy.version_id}-${meta.registry_version ?? 'file'}`;
  },
  layers() {
    const { hex, values } = this.cells;
    const categories = this.meta.categories;
    return [new deck.H3HexagonLayer({
      id: `availability-${this.version}`,
      data: this.data,
      getHexagon: (i) => hex[i],
      getFillColor: (i) => {
        const name = categories[values[i]];
        return [...(AVAILABILITY_COLORS[name] || [0, 0, 0]), name === 'no_rule' ? 40 : 190];
      },
      extruded: false,
      stroked: false,
      highPrecision: false,
      pickable: true,
    })];
  },
  tooltip(i) {
    return `cell ${this.cells.hex[i]}: ${this.statusLabel(this.meta.categories[this.cells.values[i]])}`;
  },
  statusLabel(name) {
    return (this.meta.labels && this.meta.labels[name]) || name;
  },
  legend() {
    const counts = this.meta.summary.cells_by_availability;
    return [
      ...Object.keys(counts).map((name) => swatch(AVAILABILITY_COLORS[name] || [0, 0, 0], `${this.statusLabel(name)} (${counts[name].toLocaleString()} cells)`)),
      Object.assign(document.createElement('p'), { className: 'help', textContent: `${this.meta.policy.name}, `
        + `${this.cells.n.toLocaleString()} cells at res ${this.meta.res}, ${(this.cells.bytes / 1e6).toFixed(2)} MB` }),
    ];
  },
};
