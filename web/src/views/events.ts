import { api, query } from '../api.js';
import { h, replace, scrollTable, time } from '../dom.js';
import { href } from '../router.js';
import type { EventEnvelope, Throughput } from '../types.js';
import type { View } from './context.js';
import { empty, errorState, heading, loading } from './states.js';

const PAGE = 100;
const MAX_LIVE_ROWS = 500;

/**
 * The event log: filters by type, aggregate and correlation, pages in log order, each row
 * opening to its raw envelope. Without a position it shows the latest events and appends new
 * ones from the stream while "Follow new events" is on.
 */
export const eventsView: View = (root, context) => {
  const q = context.route.query;
  const filter = { eventType: q.get('type') ?? '', aggregateId: q.get('aggregate') ?? '', correlationId: q.get('correlation') ?? '' };
  const afterParam = q.get('after');
  const filtered = Boolean(filter.eventType || filter.aggregateId || filter.correlationId);
  const body = h('tbody');
  const area = h('div', null, loading('events'));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of events' });
  let atEnd = false;
  let loaded = false;
  let closed = false;
  // Events that arrive while the first page loads; those past it are appended once it is in.
  const early: EventEnvelope[] = [];

  const field = (id: string, label: string, value: string, placeholder: string) =>
    h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name: id, type: 'search', value, placeholder, autocomplete: 'off' }));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter events', onsubmit: (e: Event) => (e.preventDefault(), apply()) },
    field('f-type', 'Event type', filter.eventType, 'e.g. OrderPlaced'),
    field('f-aggregate', 'Aggregate id', filter.aggregateId, 'an order, product… id'),
    field('f-correlation', 'Correlation id', filter.correlationId, 'an order\u2019s flow'),
    h('button', { type: 'submit' }, 'Apply'),
    filtered ? h('a', { href: href('events'), class: 'button-link' }, 'Clear filters') : null,
  );
  const follow = h('input', { id: 'follow', type: 'checkbox', checked: true });
  function apply(): void {
    const value = (id: string) => (form.querySelector<HTMLInputElement>(`#${id}`)?.value ?? '').trim();
    context.navigate(href('events', [], { type: value('f-type'), aggregate: value('f-aggregate'), correlation: value('f-correlation') }));
  }

  root.replaceChildren(
    heading('Events', h('p', { class: 'subtitle' }, 'The event log, in log order; open a row for its raw envelope.')),
    form,
    h('div', { class: 'inline' }, follow, h('label', { for: 'follow' }, 'Follow new events')),
    area,
    pager,
  );

  function row(event: EventEnvelope): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-sequence': event.sequence, 'data-event-type': event.eventType },
      h('td', { class: 'num', 'data-label': 'Seq' }, String(event.sequence)),
      h('td', { 'data-label': 'Time' }, time(event.occurredAt, 'time')),
      h('th', { scope: 'row' }, h('a', { href: href('events', [], { type: event.eventType }), title: `only ${event.eventType}` }, event.eventType)),
      h('td', { 'data-label': 'Aggregate' }, `${event.aggregateType} `, h('a', { href: href('events', [], { aggregate: event.aggregateId }) }, event.aggregateId)),
      h('td', { 'data-label': 'Correlation' }, h('a', { href: href('events', [], { correlation: event.correlationId }) }, short(event.correlationId))),
      h('td', { class: 'hide-narrow', 'data-label': 'Source' }, event.source),
      h('td', { 'data-label': 'Raw' }, h('details', null, h('summary', null, 'Envelope'), h('pre', { class: 'envelope' }, JSON.stringify(event, null, 2)))),
    );
  }

  function matches(event: EventEnvelope): boolean {
    return (!filter.eventType || event.eventType === filter.eventType) && (!filter.aggregateId || event.aggregateId === filter.aggregateId) && (!filter.correlationId || event.correlationId === filter.correlationId);
  }

  async function start(): Promise<number> {
    if (afterParam !== null) return Math.max(0, Number(afterParam) || 0);
    if (filtered) return 0;
    // The latest page of an unfiltered log: the head comes with the throughput samples.
    const head = (await api<Throughput>('/api/throughput')).samples.at(-1)?.head ?? 0;
    return Math.max(0, head - PAGE);
  }

  async function load(): Promise<void> {
    try {
      const after = await start();
      const page = await api<{ events: EventEnvelope[]; nextCursor: number | null }>(`/api/events${query({ ...filter, after, limit: PAGE })}`);
      if (closed) return;
      atEnd = page.nextCursor === null;
      loaded = true;
      body.replaceChildren(...page.events.map(row));
      const last = page.events.at(-1)?.sequence ?? after;
      for (const event of early.splice(0)) if (event.sequence > last) append(event);
      show(body.rows.length === 0);
      replace(
        pager,
        after > 0 ? h('a', { href: href('events', [], { ...params(), after: Math.max(0, after - PAGE) }) }, '← Earlier') : null,
        page.nextCursor !== null ? h('a', { href: href('events', [], { ...params(), after: page.nextCursor }) }, 'Later →') : null,
        afterParam !== null ? h('a', { href: href('events', [], params()) }, 'Latest') : null,
      );
    } catch (error) {
      if (!closed) replace(area, errorState(error, context, () => void load()));
    }
  }

  function params() {
    return { type: filter.eventType, aggregate: filter.aggregateId, correlation: filter.correlationId };
  }

  function show(none: boolean): void {
    if (none) {
      replace(area, empty(filtered ? 'No events match these filters' : 'The log is empty', 'Matching events appear here as they are appended.'));
      return;
    }
    if (body.isConnected) return;
    const head = h('thead', null, h('tr', null, ['Seq', 'Time', 'Type', 'Aggregate', 'Correlation', 'Source', 'Raw'].map((c, i) => h('th', { scope: 'col', class: i === 5 ? 'hide-narrow' : undefined }, c))));
    replace(area, scrollTable('Events', h('table', { class: 'data stack events-table' }, head, body)));
  }

  function append(event: EventEnvelope): void {
    if (!atEnd || !follow.checked || !matches(event) || body.querySelector(`tr[data-sequence="${event.sequence}"]`)) return;
    body.appendChild(row(event));
    show(false);
    while (body.rows.length > MAX_LIVE_ROWS) body.rows[0]?.remove();
  }

  const unsubscribe = context.live.subscribe((event) => (loaded ? append(event) : void early.push(event)));
  void load();
  return () => {
    closed = true;
    unsubscribe();
  };
};

function short(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}
