// Every satellite's sub-satellite point now (propagated by the server) and the ground tracks of a sample.
import { apiJson, splitPath, swatch } from '../lib.js';

export default {
  id: 'satellites',
  label: 'Satellites and ground tracks',
  async load() {
    this.doc = await apiJson('/api/v1/map/satellites?tracks=24');
    const d = this.doc;
    this.points = d.norad_id.map((id, i) => ({ id, lon: d.lon[i], lat: d.lat[i], alt: d.alt_km[i] }));
    this.paths = d.tracks.flatMap((t) => splitPath(t.lat, t.lon).map((path) => ({ id: t.norad_id, path })));
  },
  layers() {
    return [
      new deck.PathLayer({
        id: 'ground-tracks', data: this.paths, getPath: (p) => p.path, getColor: [90, 60, 160, 160],
        widthUnits: 'pixels', getWidth: 1.5, pickable: true,
      }),
      new deck.ScatterplotLayer({
        id: 'satellites', data: this.points, getPosition: (p) => [p.lon, p.lat], radiusUnits: 'pixels',
        getRadius: 1.6, getFillColor: [40, 20, 90, 220], pickable: true,
      }),
    ];
  },
  tooltip(o) { return o.path ? `ground track of NORAD ${o.id}` : `NORAD ${o.id}, ${o.alt} km`; },
  legend() {
    return [swatch([40, 20, 90], `${this.doc.satellites.toLocaleString()} satellites`), swatch([90, 60, 160], `ground tracks (${this.doc.tracks.length})`),
      Object.assign(document.createElement('p'), { className: 'help', textContent: `${this.doc.constellation} at ${this.doc.time} (${this.doc.time_basis})` })];
  },
};
