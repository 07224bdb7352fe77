import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { lineChart, type Series } from '../charts.js';
import type { Throughput } from '../types.js';
import type { View } from './context.js';
import { errorState, heading, loading } from './states.js';

/** Throughput: orders/s, events/s, consumer lag and dead letters over the last minutes. */
export const throughputView: View = (root, context) => {
  const grid = h('div', { class: 'charts' }, loading('samples'));
  const note = h('p', { class: 'subtitle' });
  let closed = false;
  let timer: number | undefined;
  root.replaceChildren(heading('Throughput', note), grid);

  async function load(): Promise<void> {
    try {
      const data = await api<Throughput>('/api/throughput');
      if (closed) return;
      const at = (iso: string) => Date.parse(iso);
      const line = (name: string, pick: (s: Throughput['samples'][number]) => number): Series => ({ name, points: data.samples.map((s) => [at(s.at), pick(s)]) });
      const consumers = [...new Set(data.samples.flatMap((s) => Object.keys(s.consumerLag)))].sort();
      replace(
        grid,
        lineChart('Orders placed', 'per second', [line('orders/s', (s) => s.ordersPerSecond)], data.windowMs),
        lineChart('Events appended', 'per second', [line('events/s', (s) => s.eventsPerSecond)], data.windowMs),
        lineChart('Consumer lag', 'events behind', consumers.length ? consumers.map((c) => line(c, (s) => s.consumerLag[c] ?? 0)) : [line('lag', () => 0)], data.windowMs),
        lineChart('Failed deliveries', 'open', [line('dead letters', (s) => s.deadLetters), line('retrying', (s) => s.retrying)], data.windowMs),
      );
      note.textContent = `A sample every ${data.intervalMs / 1000} s, from when this view was first opened (the server keeps ${Math.round(data.windowMs / 60_000)} minutes); ${data.samples.length} so far.`;
      timer = window.setTimeout(() => void load(), data.intervalMs);
    } catch (error) {
      if (!closed) replace(grid, errorState(error, context, () => void load()));
    }
  }
  void load();
  return () => {
    closed = true;
    window.clearTimeout(timer);
  };
};
