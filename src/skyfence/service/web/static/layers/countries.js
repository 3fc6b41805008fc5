// Availability per country under the active policy, drawn on the basemap's country polygons.
import { apiJson, AVAILABILITY_COLORS, swatch } from '../lib.js';

export default {
  id: 'countries',
  label: 'Availability per country',
  async load(ctx) {
    this.meta = await apiJson('/api/v1/map/availability?res=3');
    this.byCode = Object.fromEntries(this.meta.countries.map((c) => [c.iso_a2, c]));
    this.basemap = ctx.basemap || await (await fetch('/api/v1/map/basemap')).json();
  },
  layers() {
    const byCode = this.byCode;
    return [new deck.GeoJsonLayer({
      id: `countries-${this.meta.policy.version_id}`,
      data: this.basemap,
      filled: true,
      stroked: true,
      getFillColor: (f) => [...(AVAILABILITY_COLORS[byCode[f.properties.iso_a2]?.availability] || [235, 235, 235]), 150],
      getLineColor: [80, 80, 80, 200],
      lineWidthMinPixels: 0.5,
      pickable: true,
    })];
  },
  tooltip(f) {
    const row = this.byCode[f.properties.iso_a2];
    if (!row) return f.properties.name;
    const served = `${row.name}: ${row.availability}, ${(100 * row.served_fraction).toFixed(0)} % of cells served`;
    return row.reason ? `${served}\n${row.reason}` : served;
  },
  legend() {
    const counts = this.meta.summary.countries_by_availability;
    return Object.keys(counts).map((name) => swatch(AVAILABILITY_COLORS[name] || [0, 0, 0], `${name} (${counts[name]} countries)`));
  },
};
