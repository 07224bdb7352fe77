/**
 * Latency against offered load, as plain SVG text (no dependency): for each mode, p50 and p99
 * of POST→SHIPPED at each open-loop arrival rate, the closed-loop peak as a vertical line,
 * and the p99 targets as horizontal lines. The latency axis is logarithmic.
 */
import type { ModeResult } from './e2e/results.js';

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 64, right: 20, top: 40, bottom: 84 };
const COLORS: Record<string, string> = { embedded: '#1f77b4', distributed: '#d95f02' };
const TARGETS: Record<string, number> = { embedded: 100, distributed: 250 };

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(max: number): number {
  const rough = max / 6;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? magnitude * 10;
}

export function renderChart(results: readonly ModeResult[]): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const points = results.flatMap((r) => r.phases.filter((p) => p.shape === 'open').map((p) => ({ mode: r.mode, x: p.offeredPerSecond ?? 0, p50: p.latencyMs.p50, p99: p.latencyMs.p99 })));
  const xMax = Math.max(10, ...results.map((r) => r.peak.ordersPerSecond), ...points.map((p) => p.x)) * 1.08;
  const closed = results.flatMap((r) => r.phases.filter((p) => p.shape === 'closed').flatMap((p) => [p.latencyMs.p50, p.latencyMs.p99]));
  const latencies = points.flatMap((p) => [p.p50, p.p99]).concat(closed, results.map((r) => TARGETS[r.mode] ?? 100)).filter((v) => v > 0);
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.5, Math.min(...latencies, 1000))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(10, ...latencies)));
  const x = (v: number) => MARGIN.left + (v / xMax) * plotW;
  const y = (ms: number) => MARGIN.top + plotH - ((Math.log10(Math.max(ms, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  const when = results.map((r) => `${r.mode} ${r.at.slice(0, 16).replace('T', ' ')}${r.quick ? ' (quick)' : ''}`).join('; ');
  out.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">orderflow: POST→SHIPPED latency against offered load (open loop)</text>`);
  out.push(`<text x="${WIDTH / 2}" y="34" text-anchor="middle" fill="#555">${escape(when)}</text>`);

  // Grid and axes.
  const step = niceStep(xMax);
  for (let v = 0; v <= xMax; v += step) {
    out.push(`<line x1="${x(v).toFixed(1)}" y1="${MARGIN.top}" x2="${x(v).toFixed(1)}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${v}</text>`);
  }
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > yMax) break;
      out.push(`<line x1="${MARGIN.left}" y1="${y(v).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(v).toFixed(1)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`);
      out.push(`<text x="${MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v >= 1 ? v : v.toFixed(1)}</text>`);
    }
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 34}" text-anchor="middle">offered load (orders/s)</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency POST→SHIPPED (ms, log scale)</text>`);

  // Per mode: target, peak, p50 and p99 lines.
  let legendX = MARGIN.left;
  let legendY = HEIGHT - 40;
  for (const [index, result] of results.entries()) {
    // One legend row per mode.
    legendX = MARGIN.left;
    legendY = HEIGHT - 40 + index * 18;
    const color = COLORS[result.mode] ?? '#333';
    const target = TARGETS[result.mode];
    if (target) {
      out.push(`<line x1="${MARGIN.left}" y1="${y(target).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(target).toFixed(1)}" stroke="${color}" stroke-width="1" stroke-dasharray="2 4" opacity="0.8"/>`);
      out.push(`<text x="${MARGIN.left + 6}" y="${(y(target) - 4).toFixed(1)}" fill="${color}">${result.mode} p99 target ${target} ms (at 50% of peak)</text>`);
    }
    const peakX = x(result.peak.ordersPerSecond);
    out.push(`<line x1="${peakX.toFixed(1)}" y1="${MARGIN.top}" x2="${peakX.toFixed(1)}" y2="${MARGIN.top + plotH}" stroke="${color}" stroke-dasharray="6 3"/>`);
    out.push(`<text x="${(peakX - 4).toFixed(1)}" y="${MARGIN.top + 14}" text-anchor="end" fill="${color}">${result.mode} peak ${result.peak.ordersPerSecond.toFixed(0)}/s</text>`);
    // Closed-loop runs: their latency at the throughput they reached (squares: p50 filled, p99 hollow).
    for (const phase of result.phases.filter((p) => p.shape === 'closed')) {
      for (const key of ['p50', 'p99'] as const) {
        const cx = x(phase.ordersPerSecond);
        const cy = y(phase.latencyMs[key]);
        out.push(
          `<rect x="${(cx - 4).toFixed(1)}" y="${(cy - 4).toFixed(1)}" width="8" height="8" fill="${key === 'p50' ? color : '#fff'}" stroke="${color}" stroke-width="1.5"><title>${result.mode} ${phase.name}: ${key} ${phase.latencyMs[key].toFixed(1)} ms at ${phase.ordersPerSecond.toFixed(0)} orders/s</title></rect>`,
        );
      }
    }
    const series = points.filter((p) => p.mode === result.mode).sort((a, b) => a.x - b.x);
    for (const [key, dash] of [['p50', ''], ['p99', ' stroke-dasharray="8 4"']] as const) {
      if (series.length === 0) continue;
      const path = series.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.x).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
      out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const p of series) {
        out.push(`<circle cx="${x(p.x).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3.5" fill="${key === 'p50' ? color : '#fff'}" stroke="${color}" stroke-width="1.5"><title>${result.mode} ${key} at ${p.x.toFixed(0)} orders/s: ${p[key].toFixed(1)} ms</title></circle>`);
      }
      out.push(`<line x1="${legendX}" y1="${legendY}" x2="${legendX + 26}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${legendX + 32}" y="${legendY + 4}">${result.mode} ${key}</text>`);
      legendX += 150;
    }
  }
  out.push(`<rect x="${legendX + 4}" y="${legendY - 4}" width="8" height="8" fill="#777" stroke="#777"/>`);
  out.push(`<text x="${legendX + 18}" y="${legendY + 4}">closed-loop runs at their throughput (filled p50, hollow p99)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
