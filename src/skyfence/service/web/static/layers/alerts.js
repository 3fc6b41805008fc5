// Alerts, live: server-sent events read with fetch() (EventSource cannot send the bearer token), drawn on the map
// and listed in the Alerts panel.  The stream reconnects after the server closes it, resuming after the last id.
import { authHeader, request, swatch, text } from '../lib.js';

export default {
  id: 'alerts',
  label: 'Alerts, live',
  async load(ctx) {
    this.items = this.items || [];
    if (!this.running) {
      this.running = true;
      this.controller = new AbortController();
      this.loop(ctx);
    }
  },
  unload() {
    this.running = false;
    if (this.controller) this.controller.abort();
  },
  async loop(ctx) {
    const state = document.getElementById('alerts-state');
    while (this.running) {
      try {
        const after = this.lastId !== undefined ? `&after=${this.lastId}` : '';
        const response = await request(`/api/v1/map/alerts/stream?recent=20&timeout_s=300${after}`, {
          headers: { ...authHeader(), Accept: 'text/event-stream' }, signal: this.controller.signal,
        });
        state.textContent = '(live)';
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            this.handle(buffer.slice(0, cut), ctx);
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch (error) {
        if (!this.running) return;
        state.textContent = '(reconnecting)';
        if (error.status === 401 || error.status === 403) { this.running = false; return; }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  },
  handle(block, ctx) {
    const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
    if (!block.includes('event: alert') || !data) return;
    const alert = JSON.parse(data);
    this.lastId = alert.id;
    this.items.push(alert);
    const item = text('li', `#${alert.id} ${alert.created_at} ${alert.kind} terminal ${alert.terminal_id}: ${alert.reason}`);
    item.dataset.alertId = alert.id;
    document.getElementById('alerts-list').prepend(item);
    performance.mark(`alert-${alert.id}-shown`);
    ctx.render();
    ctx.refresh('terminals');
  },
  layers() {
    return [new deck.ScatterplotLayer({
      id: 'alerts',
      data: this.items.filter((a) => a.lat_deg !== null),
      getPosition: (a) => [a.lon_deg, a.lat_deg],
      radiusUnits: 'pixels',
      getRadius: 14,
      stroked: true,
      filled: false,
      getLineColor: [200, 0, 0, 230],
      lineWidthMinPixels: 3,
      pickable: true,
    })];
  },
  tooltip(a) { return `alert #${a.id} (${a.kind}): ${a.reason}`; },
  legend() { return [swatch([200, 0, 0], `alerts (${this.items.length} since sign-in)`)]; },
};
