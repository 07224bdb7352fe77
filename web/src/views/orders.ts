import { api, query } from '../api.js';
import { announce, badge, debounce, h, money, replace, scrollTable, time } from '../dom.js';
import { href } from '../router.js';
import { ORDER_STATUSES, type EventEnvelope, type Order, type OrderPage, type Stats } from '../types.js';
import type { View } from './context.js';
import { empty, errorState, heading, loading } from './states.js';

const PAGE = 50;

/**
 * Orders: counts per status, a filterable list, and live updates: an order event from the
 * stream re-reads that order and moves its row, without reloading the page. The stream brings
 * only what happens after it connects, so once it is live the view also reads the log after the
 * position of the counts: an order that moved between the counts, the list and the stream is
 * counted too.
 */
export const ordersView: View = (root, context) => {
  const status = context.route.query.get('status') ?? '';
  const customer = context.route.query.get('customer') ?? '';
  const counts = h('ul', { class: 'counts', 'aria-label': 'Orders per status' });
  const body = h('tbody');
  const listArea = h('div', { class: 'list-area' }, loading('orders'));
  const more = h('div', { class: 'more' });
  const rows = new Map<string, HTMLTableRowElement>();
  let cursor: string | null = null;
  let lastSequence = 0;
  /** The log position the counts were read at (the statistics projection's checkpoint). */
  let countsAsOf: number | undefined;
  let closed = false;

  const statusSelect = h('select', { id: 'filter-status', name: 'status' }, h('option', { value: '' }, 'All statuses'), ORDER_STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  const customerInput = h('input', { id: 'filter-customer', name: 'customer', type: 'search', value: customer, placeholder: 'e.g. customer-001', autocomplete: 'off' });
  const filters = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter orders', onsubmit: (e: Event) => (e.preventDefault(), context.navigate(href('orders', [], { status: statusSelect.value, customer: customerInput.value.trim() }))) },
    h('div', { class: 'field' }, h('label', { for: 'filter-status' }, 'Status'), statusSelect),
    h('div', { class: 'field' }, h('label', { for: 'filter-customer' }, 'Customer'), customerInput),
    h('button', { type: 'submit' }, 'Apply'),
    status || customer ? h('a', { href: href('orders'), class: 'button-link' }, 'Clear filters') : null,
  );
  statusSelect.addEventListener('change', () => filters.requestSubmit());

  root.replaceChildren(heading('Orders', h('p', { class: 'subtitle' }, 'Newest first; rows update as the saga moves.')), counts, filters, listArea, more);

  function row(order: Order): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-order-id': order.orderId, 'data-status': order.status },
      h('th', { scope: 'row' }, h('a', { href: href('orders', [order.orderId]) }, order.orderNumber)),
      h('td', { 'data-label': 'Customer' }, order.customerId),
      h('td', { 'data-label': 'Status', class: 'status-cell' }, badge(order.status)),
      h('td', { 'data-label': 'Total', class: 'num' }, money(order.totalAmount, order.currency)),
      h('td', { 'data-label': 'Items', class: 'num hide-narrow' }, String(order.items.reduce((n, i) => n + i.quantity, 0))),
      h('td', { 'data-label': 'Placed', class: 'hide-narrow' }, time(order.createdAt)),
      h('td', { 'data-label': 'Updated' }, time(order.updatedAt, 'time')),
    );
  }

  function matches(order: Order): boolean {
    return (!status || order.status === status) && (!customer || order.customerId === customer);
  }

  function showTable(): void {
    if (rows.size === 0) {
      replace(
        listArea,
        status || customer
          ? empty('No orders match these filters', 'Orders that match will appear here as they happen.', h('a', { href: href('orders') }, 'Clear filters'))
          : empty('No orders yet', 'Orders placed through the API appear here as they arrive.'),
      );
      return;
    }
    if (!body.isConnected) {
      const head = h('thead', null, h('tr', null, ['Order', 'Customer', 'Status', 'Total', 'Items', 'Placed', 'Updated'].map((c, i) => h('th', { scope: 'col', class: i === 4 || i === 5 ? 'hide-narrow' : undefined }, c))));
      replace(listArea, scrollTable('Orders', h('table', { class: 'data stack orders-table' }, h('caption', { class: 'visually-hidden' }, 'Orders, newest first'), head, body)));
    }
  }

  async function loadPage(): Promise<void> {
    try {
      const page = await api<OrderPage>(`/orders${query({ status, customerId: customer, limit: PAGE, cursor })}`);
      if (closed) return;
      for (const order of page.orders) if (!rows.has(order.orderId)) rows.set(order.orderId, body.appendChild(row(order)));
      cursor = page.nextCursor;
      showTable();
      replace(more, cursor ? h('button', { type: 'button', onclick: () => void loadPage() }, 'Load more orders') : null);
    } catch (error) {
      if (!closed) replace(listArea, errorState(error, context, () => context.refresh()));
    }
  }

  async function loadCounts(): Promise<void> {
    try {
      const stats = await api<Stats>('/api/stats');
      if (closed) return;
      const total = Object.values(stats.byStatus).reduce((a, b) => a + b, 0);
      const item = (label: string, value: string, n: number) =>
        h('li', null, h('a', { href: href('orders', [], { status: value, customer }), 'data-count-status': value || 'ALL', 'aria-current': value === status ? 'true' : undefined }, h('span', { class: 'count-label' }, label), h('span', { class: 'count-value' }, String(n))));
      replace(counts, item('All', '', total), ORDER_STATUSES.map((s) => item(s, s, stats.byStatus[s] ?? 0)));
      countsAsOf ??= stats.asOfSequence;
      // The statistics are a projection: when they trail the events seen, ask again shortly.
      if (stats.asOfSequence < lastSequence) window.setTimeout(() => refreshCounts(), 500);
    } catch (error) {
      if (!closed) replace(counts, h('li', { class: 'counts-error' }, errorState(error, context)));
    }
  }
  const refreshCounts = debounce(() => void loadCounts(), 300);

  // Orders touched by recent events, re-read together.
  const touched = new Set<string>();
  const refreshTouched = debounce(() => void upsert(drain(touched)), 150);
  async function upsert(orderIds: string[]): Promise<void> {
    // A burst: one read of the first page beats a request per order.
    if (orderIds.length > 25) return reload();
    for (const orderId of orderIds) {
      const order = await api<Order>(`/orders/${encodeURIComponent(orderId)}`).catch(() => undefined);
      if (closed || !order) continue;
      const existing = rows.get(orderId);
      if (!matches(order)) {
        existing?.remove();
        rows.delete(orderId);
      } else if (existing) {
        const updated = row(order);
        updated.classList.add('flash');
        existing.replaceWith(updated);
        rows.set(orderId, updated);
        if (existing.dataset.status !== order.status) announce(`Order ${order.orderNumber} is now ${order.status}`);
      } else {
        const added = row(order);
        added.classList.add('flash');
        showTable();
        body.prepend(added);
        rows.set(orderId, added);
        announce(`New order ${order.orderNumber}`);
      }
    }
    showTable();
  }

  async function reload(): Promise<void> {
    rows.clear();
    body.replaceChildren();
    cursor = null;
    await loadPage();
  }

  function onOrderEvent(event: EventEnvelope): void {
    if (event.aggregateType !== 'Order' || !event.eventType.startsWith('Order')) return;
    lastSequence = Math.max(lastSequence, event.sequence);
    touched.add(event.aggregateId);
    refreshTouched();
    refreshCounts();
  }
  const unsubscribe = context.live.subscribe(onOrderEvent);

  /**
   * The events after the first counts' position, from the log: those a stream that connected
   * after the view opened came too late for. Once: a reconnect resumes after the last event.
   */
  async function catchUp(): Promise<void> {
    let after = countsAsOf;
    while (after !== undefined && !closed) {
      const page = await api<{ events: EventEnvelope[]; nextCursor: number | null }>(`/api/events${query({ after, limit: 1000 })}`).catch(() => undefined);
      if (closed || !page) return;
      page.events.forEach(onOrderEvent);
      after = page.nextCursor ?? undefined;
    }
  }

  let stopWaiting = () => {};
  // Counts first: they are admin-only, so a customer token learns at once why the view is closed.
  void loadCounts()
    .then(() => (counts.querySelector('.state-forbidden') ? replace(listArea) : loadPage()))
    .then(() => {
      if (closed || countsAsOf === undefined) return;
      // At once if the stream is live already, else when it connects.
      let done = false;
      stopWaiting = context.live.onState((state) => {
        if (state.state !== 'live' || done) return;
        done = true;
        void catchUp();
      });
    });
  return () => {
    closed = true;
    unsubscribe();
    stopWaiting();
    refreshCounts.cancel();
    refreshTouched.cancel();
  };
};

/** Empties a set and returns what it held. */
function drain<T>(set: Set<T>): T[] {
  const values = [...set];
  set.clear();
  return values;
}
