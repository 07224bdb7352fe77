import { h, s } from './dom.js';

export interface Series {
  name: string;
  /** [epoch ms, value] points, oldest first. */
  points: [number, number][];
}

const W = 320;
const H = 110;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

/**
 * A small line chart as inline SVG: one line per series over a shared time axis, the peak
 * value on the y axis, and a text summary for screen readers (latest and peak per series).
 */
export function lineChart(title: string, unit: string, series: Series[], windowMs: number): HTMLElement {
  const now = Date.now();
  // A young series spans from its first sample (a minute at least), not an empty window.
  const first = Math.min(now, ...series.flatMap((line) => line.points.map(([t]) => t)));
  const span = Math.min(windowMs, Math.max(60_000, now - first));
  const from = now - span;
  const peak = Math.max(1, ...series.flatMap((s) => s.points.map(([, v]) => v)));
  const x = (t: number) => PAD.left + ((t - from) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / peak) * (H - PAD.top - PAD.bottom);
  const summary = series
    .map((s) => {
      const values = s.points.map(([, v]) => v);
      return `${s.name}: latest ${format(values.at(-1) ?? 0)}, peak ${format(Math.max(0, ...values))}`;
    })
    .join('; ');
  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title} (${unit}) over the last ${ago(span).slice(1)}. ${summary || 'No samples yet.'}` },
    s('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: 'axis' }),
    s('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: 'axis' }),
    s('text', { x: PAD.left - 4, y: PAD.top + 8, class: 'tick', 'text-anchor': 'end' }, format(peak)),
    s('text', { x: PAD.left - 4, y: H - PAD.bottom, class: 'tick', 'text-anchor': 'end' }, '0'),
    s('text', { x: PAD.left, y: H - 4, class: 'tick' }, ago(span)),
    s('text', { x: W - PAD.right, y: H - 4, class: 'tick', 'text-anchor': 'end' }, 'now'),
    series.map((line, i) => {
      const last = line.points.at(-1);
      if (!last) return null;
      return [
        s('polyline', { class: `series series-${i % 6}`, points: line.points.map(([t, v]) => `${x(Math.max(t, from)).toFixed(1)},${y(v).toFixed(1)}`).join(' ') }),
        // The latest value as a dot, so even a first sample shows.
        s('circle', { class: `series-dot series-${i % 6}`, cx: x(last[0]).toFixed(1), cy: y(last[1]).toFixed(1), r: 2.5 }),
      ];
    }),
  );
  return h(
    'figure',
    { class: 'chart-card card' },
    h('figcaption', null, h('span', { class: 'chart-title' }, title), h('span', { class: 'chart-unit' }, ` ${unit}`)),
    svg,
    series.length > 1 ? h('ul', { class: 'chart-legend' }, series.map((line, i) => h('li', null, h('span', { class: `swatch series-${i % 6}` }), line.name))) : null,
    h('p', { class: 'chart-summary' }, summary || 'No samples yet.'),
  );
}

function format(value: number): string {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

function ago(ms: number): string {
  return ms >= 120_000 ? `-${Math.round(ms / 60_000)} min` : `-${Math.round(ms / 1000)} s`;
}
