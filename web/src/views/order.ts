import { api, apiWithHeaders, ApiError } from '../api.js';
import { badge, debounce, h, money, replace, scrollTable, time } from '../dom.js';
import { openStream } from '../live.js';
import { href } from '../router.js';
import { CANCELLABLE, type AuditEntry, type Order, type Return, type Saga, type Timeline, type TimelineEvent } from '../types.js';
import type { View, ViewContext } from './context.js';
import { sequenceDiagram } from './sequence.js';
import { errorState, heading, loading, notice } from './states.js';

/** Events that undo an earlier step of the saga. */
const COMPENSATIONS: Record<string, string> = { InventoryReleased: 'stock released', PaymentRefunded: 'payment refunded' };
const UNSETTLED = new Set(['pending', 'retrying', 'parked']);

/**
 * One order: its details, the saga as a sequence diagram and as a timeline (each event's time,
 * cause and every consumer's outcome), the saga's steps and compensations, and a cancel
 * button while the status allows it. A stream of the order's flow keeps it current.
 */
export const orderView: View = (root, context) => {
  const orderId = context.route.params[0]!;
  let closed = false;
  let poll: number | undefined;
  let shown = '';
  root.replaceChildren(h('p', null, h('a', { href: href('orders') }, '← All orders')), loading('the order'));

  async function load(): Promise<void> {
    try {
      const path = `/orders/${encodeURIComponent(orderId)}`;
      const [{ body: order, headers }, timeline, audit, returns] = await Promise.all([
        apiWithHeaders<Order>(path),
        api<Timeline>(`${path}/timeline`),
        api<{ entries: AuditEntry[] }>(`${path}/audit`),
        api<{ returns: Return[] }>(`${path}/returns`),
      ]);
      const saga = await api<Saga>(`/sagas/${encodeURIComponent(order.sagaId)}`);
      if (closed) return;
      // Re-render only on a change: a re-render closes open payloads and moves focus.
      const key = JSON.stringify([order, timeline, saga, audit, returns]);
      if (key !== shown) {
        shown = key;
        const focused = document.activeElement?.id;
        replace(root, h('p', null, h('a', { href: href('orders') }, '← All orders')), ...render(order, headers.get('etag') ?? '', timeline, saga, audit.entries, returns.returns, context, load));
        if (focused) document.getElementById(focused)?.focus();
      }
      // Consumer outcomes change without new events (retries, parking): look again while any is unsettled.
      window.clearTimeout(poll);
      if (timeline.events.some((e) => e.consumers.some((c) => UNSETTLED.has(c.outcome)))) poll = window.setTimeout(() => void load(), 2000);
    } catch (error) {
      if (closed) return;
      const notFound = error instanceof ApiError && error.status === 404;
      replace(root, h('p', null, h('a', { href: href('orders') }, '← All orders')), heading(notFound ? 'Order not found' : 'Order'), errorState(error, context, () => void load()));
    }
  }

  const reload = debounce(() => void load(), 200);
  let stream: ReturnType<typeof openStream> | undefined;
  void load().then(async () => {
    // Follow this order's flow only: the stream filtered by its correlation id.
    const order = await api<Order>(`/orders/${encodeURIComponent(orderId)}`).catch(() => undefined);
    if (order && !closed) stream = openStream({ correlationId: order.correlationId }, reload);
  });
  return () => {
    closed = true;
    stream?.close();
    reload.cancel();
    window.clearTimeout(poll);
  };
};

function render(
  order: Order,
  etag: string,
  timeline: Timeline,
  saga: Saga,
  audit: readonly AuditEntry[],
  returns: readonly Return[],
  context: ViewContext,
  reload: () => Promise<void>,
): HTMLElement[] {
  return [
    heading(`Order ${order.orderNumber}`, h('span', { class: 'order-status', 'data-status': order.status }, badge(order.status))),
    h(
      'div',
      { class: 'columns' },
      h(
        'div',
        null,
        summary(order, saga, timeline),
        ADDRESS_EDITABLE.includes(order.status) && !order.shipment?.dispatchedAt ? addressControl(order, etag, context, reload) : null,
        ITEMS_EDITABLE.includes(order.status) && !order.shipment?.dispatchedAt && !order.pendingEdit ? itemsControl(order, etag, context, reload) : null,
        order.status === 'PENDING' && order.stockReview && !order.stockReview.override && context.claims?.role === 'admin' ? overrideControl(order, context, reload) : null,
        CANCELLABLE.includes(order.status) ? cancelControl(order, context, reload) : null,
      ),
      sagaPanel(saga),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'flow-title' },
      h('h2', { id: 'flow-title' }, 'Saga flow'),
      h('p', { class: 'help' }, 'Each arrow is an event delivered to a module, coloured by that consumer\u2019s outcome; the dashed arrows down a lane lead from the event a module handled to the event it emitted in response.'),
      legend(),
      h('div', { class: 'diagram-scroll', role: 'region', 'aria-label': 'Sequence diagram', tabindex: 0 }, sequenceDiagram(timeline.events)),
    ),
    ...(returns.length > 0 ? [returnList(returns, context, reload)] : []),
    timelineList(timeline.events),
    auditTrail(audit),
  ];
}

/** The order's returns: what comes back, where each stands, what was refunded; an admin moves them on. */
function returnList(returns: readonly Return[], context: ViewContext, reload: () => Promise<void>): HTMLElement {
  const admin = context.claims?.role === 'admin';
  const status = h('div', { role: 'status' });
  const act = async (r: Return, step: 'approve' | 'reject' | 'receive', body: unknown) => {
    try {
      await api(`/returns/${encodeURIComponent(r.returnId)}/${step}`, { method: 'POST', body });
      await reload();
    } catch (error) {
      replace(status, errorState(error, context));
    }
  };
  const actions = (r: Return): (HTMLElement | string)[] => {
    if (!admin) return [];
    if (r.status === 'REQUESTED') {
      return [
        h('button', { type: 'button', onclick: () => void act(r, 'approve', {}) }, 'Approve'),
        ' ',
        h('button', { type: 'button', onclick: () => void act(r, 'reject', {}) }, 'Reject'),
      ];
    }
    if (r.status === 'APPROVED') {
      const restock = h('input', { type: 'checkbox', id: `restock-${r.returnId}`, checked: true });
      return [
        h('label', { for: `restock-${r.returnId}` }, restock, ' back into stock'),
        ' ',
        h('button', { type: 'button', onclick: () => void act(r, 'receive', { restock: (restock as HTMLInputElement).checked }) }, 'Goods received'),
      ];
    }
    return [];
  };
  const table = h(
    'table',
    { class: 'data compact returns' },
    h('thead', null, h('tr', null, ['Requested', 'Units', 'Status', 'Amount', 'Refunded', 'Why', ...(admin ? ['Next step'] : [])].map((title) => h('th', { scope: 'col' }, title)))),
    h(
      'tbody',
      null,
      returns.map((r) =>
        h(
          'tr',
          { 'data-return-id': r.returnId, 'data-status': r.status },
          h('td', null, time(r.createdAt, 'time')),
          h('td', null, r.lines.map((l) => `${l.quantity} × ${l.productId}`).join(', ')),
          h('td', null, badge(r.status), r.restocked === false ? h('span', { class: 'muted' }, ' not restocked (damaged)') : null),
          h('td', null, money(r.amount, r.currency)),
          h('td', null, r.refundedAmount === null ? '—' : money(r.refundedAmount, r.currency)),
          h('td', null, r.rejectionReason ?? r.reason ?? ''),
          admin ? h('td', null, ...actions(r)) : null,
        ),
      ),
    ),
  );
  return h('section', { class: 'card', 'aria-labelledby': 'returns-title' }, h('h2', { id: 'returns-title' }, `Returns (${returns.length})`), status, scrollTable('Returns', table));
}

/** Who did each step: the callers of the API with their address and user agent, and the system. */
function auditTrail(entries: readonly AuditEntry[]): HTMLElement {
  const table = h(
    'table',
    { class: 'data compact audit' },
    h('thead', null, h('tr', null, ['When', 'Who', 'From', 'What', 'Why'].map((title) => h('th', { scope: 'col' }, title)))),
    h(
      'tbody',
      null,
      entries.map((entry) =>
        h(
          'tr',
          { 'data-action': entry.action, 'data-role': entry.actor.role },
          h('td', null, time(entry.at, 'time')),
          h('td', null, h('span', { class: 'actor' }, entry.actor.sub), ' ', badge(entry.actor.role)),
          h('td', null, entry.actor.ip ?? '—', entry.actor.userAgent ? h('span', { class: 'muted user-agent' }, ` ${entry.actor.userAgent}`) : null),
          h('td', null, entry.action),
          h('td', null, entry.reason ?? ''),
        ),
      ),
    ),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, 'Audit trail'),
    h('p', { class: 'help' }, 'Who did each step: a customer or an admin through the API (with the address and browser or tool they used), or orderflow itself (system).'),
    scrollTable('Audit trail', table),
  );
}

function summary(order: Order, saga: Saga, timeline: Timeline): HTMLElement {
  const item = (term: string, ...value: (Node | string)[]) => [h('dt', null, term), h('dd', null, ...value)];
  const reason = order.paymentFailureReason ?? order.rejectionReason ?? order.cancellationReason;
  return h(
    'section',
    { class: 'card', 'aria-label': 'Order details' },
    h(
      'dl',
      { class: 'facts' },
      item('Customer', order.customerId),
      item('Total', money(order.totalAmount, order.currency)),
      item('Items', order.items.map((i) => `${i.quantity} × ${i.name}`).join(', ')),
      order.pendingEdit
        ? item('Edit under way', `${order.pendingEdit.items.map((i) => `${i.quantity} × ${i.name}`).join(', ')} for ${money(order.pendingEdit.totalAmount, order.currency)}, waiting for ${order.pendingEdit.stage === 'stock' ? 'stock' : 'the charge of the difference'}`)
        : [],
      order.lastEdit ? item('Last item edit', `${order.lastEdit.outcome}${order.lastEdit.reason ? ` (${order.lastEdit.reason})` : ''}, ${time(order.lastEdit.at)}`) : [],
      (order.backorders ?? []).some((b) => b.status === 'WAITING' || b.status === 'REVIEW')
        ? item(
            'Waiting for stock',
            h(
              'ul',
              { class: 'plain-list' },
              (order.backorders ?? []).map((b) =>
                h('li', { 'data-backorder': b.productId, 'data-status': b.status }, `${b.quantity} × ${b.productId}: ${b.status === 'REVIEW' ? 'held for an admin\u2019s review' : b.status.toLowerCase()}${b.allocated > 0 ? `, ${b.allocated} reserved so far` : ''}`),
              ),
            ),
          )
        : [],
      order.stockReview?.override
        ? item('Stock override', `approved by ${order.stockReview.override.approvedBy}: ${order.stockReview.override.reason}${order.stockReview.override.expectedRestockAt ? `, restock expected ${order.stockReview.override.expectedRestockAt}` : ''}`)
        : [],
      item('Ship to', `${order.shippingAddress.street}, ${order.shippingAddress.postalCode} ${order.shippingAddress.city}, ${order.shippingAddress.country}`),
      item('Placed', time(order.createdAt)),
      item('Updated', time(order.updatedAt)),
      reason ? item('Reason', reason) : [],
      item('Payment', order.payment ? `${order.payment.status}${order.payment.reason ? ` (${order.payment.reason})` : ''}` : '—'),
      order.payment?.refundedAmount ? item('Refunded', money(order.payment.refundedAmount, order.payment.currency)) : [],
      item('Shipment', order.shipment ? `${order.shipment.status}, tracking ${order.shipment.trackingNumber}` : '—'),
      item('Saga', badge(saga.state), saga.durationMs !== null ? ` settled in ${saga.durationMs} ms` : ` deadline `, saga.durationMs !== null ? '' : time(saga.deadline)),
      item('Correlation', h('a', { href: href('events', [], { correlation: order.correlationId }) }, order.correlationId)),
      timeline.trace ? item('Trace', traceLink(timeline.trace)) : [],
    ),
  );
}

/** The trace id, linked to the tracing tool when the server knows its address (OTEL_TRACE_URL). */
function traceLink(trace: NonNullable<Timeline['trace']>): HTMLElement {
  return trace.url ? h('a', { href: trace.url, target: '_blank', rel: 'noopener', class: 'trace-id' }, trace.traceId) : h('code', { class: 'trace-id' }, trace.traceId);
}

/** Statuses in which the shipping address may still change (until the shipment is dispatched). */
const ADDRESS_EDITABLE = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED'];

/** A form for a new shipping address, sent with the order's ETag: a change by someone else meanwhile is refused, not overwritten. */
function addressControl(order: Order, etag: string, context: ViewContext, reload: () => Promise<void>): HTMLElement {
  const area = h('div', { class: 'cancel-area' });
  const start = h('button', { type: 'button', onclick: () => open() }, 'Change shipping address');
  const fields = (['street', 'city', 'postalCode', 'country'] as const).map((name) => ({
    name,
    input: h('input', { id: `address-${name}`, type: 'text', maxlength: name === 'postalCode' ? 20 : 200, required: true, value: order.shippingAddress[name] }),
  }));
  const labels = { street: 'Street', city: 'City', postalCode: 'Postal code', country: 'Country' } as const;
  const reasonInput = h('input', { id: 'address-reason', type: 'text', maxlength: 500, placeholder: 'e.g. customer moved' });
  function open(): void {
    replace(
      area,
      h(
        'form',
        { class: 'inline-form', onsubmit: (e: Event) => (e.preventDefault(), void save()) },
        fields.map(({ name, input }) => [h('label', { for: input.id }, labels[name]), input]),
        h('label', { for: 'address-reason' }, 'Reason (optional)'),
        reasonInput,
        h('button', { type: 'submit' }, 'Save address'),
        h('button', { type: 'button', onclick: () => replace(area, start) }, 'Keep it'),
      ),
    );
    fields[0]!.input.focus();
  }
  async function save(): Promise<void> {
    try {
      const shippingAddress = Object.fromEntries(fields.map(({ name, input }) => [name, input.value.trim()]));
      const reason = reasonInput.value.trim();
      await api(`/orders/${encodeURIComponent(order.orderId)}`, { method: 'PATCH', headers: { 'if-match': etag }, body: { shippingAddress, ...(reason ? { reason } : {}) } });
      replace(area, notice('ok', 'Shipping address changed.'));
      await reload();
    } catch (error) {
      replace(area, errorState(error, context), start);
    }
  }
  replace(area, start);
  return h('section', { class: 'card', 'aria-label': 'Shipping address' }, area);
}

/** Statuses in which the items may change: once paid, until the shipment is dispatched. */
const ITEMS_EDITABLE = ['PAID', 'SHIPPED'];

/**
 * A form for the order's new quantities (0 takes a line off) and one product to add, sent with
 * the order's ETag. The edit goes on in the background: the page shows it under way, then how it ended.
 */
function itemsControl(order: Order, etag: string, context: ViewContext, reload: () => Promise<void>): HTMLElement {
  const area = h('div', { class: 'cancel-area' });
  const start = h('button', { type: 'button', onclick: () => open() }, 'Change items');
  const lines = order.items.map((line, i) => ({
    productId: line.productId,
    input: h('input', { id: `edit-qty-${i}`, type: 'number', min: 0, max: 1000, required: true, value: String(line.quantity) }),
    label: `Quantity of ${line.name}`,
  }));
  const addProduct = h('input', { id: 'edit-add-product', type: 'text', maxlength: 200, placeholder: 'product id' });
  const addQuantity = h('input', { id: 'edit-add-quantity', type: 'number', min: 1, max: 1000, value: '1' });
  const reasonInput = h('input', { id: 'edit-reason', type: 'text', maxlength: 500, placeholder: 'e.g. customer added a shade' });
  function open(): void {
    replace(
      area,
      h(
        'form',
        { class: 'inline-form', onsubmit: (e: Event) => (e.preventDefault(), void save()) },
        lines.map(({ input, label }) => [h('label', { for: input.id }, label), input]),
        h('label', { for: addProduct.id }, 'Add a product (optional)'),
        addProduct,
        h('label', { for: addQuantity.id }, 'Quantity to add'),
        addQuantity,
        h('label', { for: reasonInput.id }, 'Why (optional)'),
        reasonInput,
        h('button', { type: 'submit' }, 'Save items'),
        h('button', { type: 'button', onclick: () => replace(area, start) }, 'Keep them'),
      ),
    );
    lines[0]?.input.focus();
  }
  async function save(): Promise<void> {
    try {
      const items = lines.map(({ productId, input }) => ({ productId, quantity: Number(input.value) })).filter((l) => l.quantity > 0);
      const added = addProduct.value.trim();
      if (added) items.push({ productId: added, quantity: Number(addQuantity.value) });
      const reason = reasonInput.value.trim();
      await api(`/orders/${encodeURIComponent(order.orderId)}`, { method: 'PATCH', headers: { 'if-match': etag }, body: { items, ...(reason ? { reason } : {}) } });
      replace(area, notice('ok', 'Item edit sent: the stock is held and the difference charged before the order changes.'));
      await reload();
    } catch (error) {
      replace(area, errorState(error, context), start);
    }
  }
  replace(area, start);
  return h('section', { class: 'card', 'aria-label': 'Items' }, area);
}

/** An admin approves an order short of stock and held for review: its shortfalls then wait for a restock as backorders. */
function overrideControl(order: Order, context: ViewContext, reload: () => Promise<void>): HTMLElement {
  const area = h('div', { class: 'cancel-area' });
  const start = h('button', { type: 'button', onclick: () => open() }, 'Approve despite the shortage');
  const reasonInput = h('input', { id: 'override-reason', type: 'text', maxlength: 500, required: true, placeholder: 'e.g. VIP customer, stock due Monday' });
  const dateInput = h('input', { id: 'override-restock', type: 'date' });
  function open(): void {
    replace(
      area,
      h(
        'form',
        { class: 'inline-form', onsubmit: (e: Event) => (e.preventDefault(), void approve()) },
        h('label', { for: reasonInput.id }, 'Reason'),
        reasonInput,
        h('label', { for: dateInput.id }, 'Expected restock (optional)'),
        dateInput,
        h('button', { type: 'submit' }, 'Approve the override'),
        h('button', { type: 'button', onclick: () => replace(area, start) }, 'Not now'),
      ),
    );
    reasonInput.focus();
  }
  async function approve(): Promise<void> {
    try {
      const restock = dateInput.value;
      await api(`/orders/${encodeURIComponent(order.orderId)}/override`, { method: 'POST', body: { reason: reasonInput.value.trim(), ...(restock ? { expectedRestockAt: restock } : {}) } });
      replace(area, notice('ok', 'Override applied: the shortfall waits for a restock.'));
      await reload();
    } catch (error) {
      replace(area, errorState(error, context), start);
    }
  }
  replace(area, start);
  return h('section', { class: 'card', 'aria-label': 'Stock review' }, area);
}

function cancelControl(order: Order, context: ViewContext, reload: () => Promise<void>): HTMLElement {
  const area = h('div', { class: 'cancel-area' });
  const start = h('button', { type: 'button', class: 'danger', onclick: () => confirm() }, 'Cancel order');
  const reasonInput = h('input', { id: 'cancel-reason', type: 'text', maxlength: 500, placeholder: 'e.g. customer asked' });
  function confirm(): void {
    replace(
      area,
      h(
        'form',
        { class: 'inline-form', onsubmit: (e: Event) => (e.preventDefault(), void cancel()) },
        h('label', { for: 'cancel-reason' }, 'Reason (optional)'),
        reasonInput,
        h('button', { type: 'submit', class: 'danger' }, 'Confirm cancellation'),
        h('button', { type: 'button', onclick: () => replace(area, start) }, 'Keep the order'),
      ),
    );
    reasonInput.focus();
  }
  async function cancel(): Promise<void> {
    try {
      const reason = reasonInput.value.trim();
      await api(`/orders/${encodeURIComponent(order.orderId)}/cancel`, { method: 'POST', body: reason ? { reason } : {} });
      replace(area, notice('ok', 'Cancellation accepted: stock is released and any payment refunded as the saga compensates.'));
      await reload();
    } catch (error) {
      replace(area, errorState(error, context), start);
    }
  }
  replace(area, start);
  return h('section', { class: 'card', 'aria-label': 'Cancel' }, area);
}

function legend(): HTMLElement {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Outcome colours' },
    ['handled', 'retrying', 'parked', 'dead-lettered', 'discarded', 'pending'].map((o) => h('li', null, h('span', { class: `swatch outcome-${o}` }), o)),
  );
}

function timelineList(events: readonly TimelineEvent[]): HTMLElement {
  const bySequence = new Map(events.map((e) => [e.eventId, e]));
  const list = h('ol', { class: 'timeline' });
  for (const [index, event] of events.entries()) {
    const cause = event.causationId ? bySequence.get(event.causationId) : undefined;
    const compensation = COMPENSATIONS[event.eventType];
    list.appendChild(
      h(
        'li',
        { id: `ev-${event.sequence}`, tabindex: -1, 'data-event-type': event.eventType, class: compensation ? 'compensation' : undefined },
        h(
          'div',
          { class: 'tl-head' },
          time(event.occurredAt, 'time'),
          h('span', { class: 'seq' }, `#${event.sequence}`),
          h('strong', null, event.eventType),
          h('span', { class: 'muted' }, ` from ${event.source}`),
          compensation ? h('span', { class: 'tag tag-compensation' }, `compensation: ${compensation}`) : null,
        ),
        cause
          ? h('button', { type: 'button', class: 'link-button cause-link', onclick: () => focusEvent(cause.sequence) }, `caused by #${cause.sequence} ${cause.eventType}`)
          : h('span', { class: 'muted' }, event.causationId ? 'caused by an event outside this flow' : index === 0 ? 'starts the flow' : 'from a command or a timer (no causing event)'),
        h(
          'ul',
          { class: 'consumers', 'aria-label': 'Consumers' },
          event.consumers.length === 0 ? h('li', { class: 'muted' }, 'no consumer subscribes') : null,
          event.consumers.map((c) =>
            h(
              'li',
              { 'data-consumer': c.consumer, 'data-outcome': c.outcome },
              h('span', { class: 'consumer-name' }, c.consumer),
              ' ',
              badge(c.outcome),
              c.attempts > 1 ? ` after ${c.attempts} attempts` : '',
              c.error ? h('span', { class: 'error-text' }, ` — ${c.error}`) : null,
            ),
          ),
        ),
        h('details', null, h('summary', null, 'Payload'), h('pre', null, JSON.stringify(event.payload, null, 2))),
      ),
    );
  }
  return h('section', { class: 'card', 'aria-labelledby': 'timeline-title' }, h('h2', { id: 'timeline-title' }, `Timeline (${events.length} events)`), list);
}

function focusEvent(sequence: number): void {
  const target = document.getElementById(`ev-${sequence}`);
  target?.scrollIntoView({ block: 'center' });
  target?.focus();
}

function sagaPanel(saga: Saga): HTMLElement {
  const steps = h(
    'table',
    { class: 'data compact' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Step'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'At'))),
    h('tbody', null, saga.steps.map((step) => h('tr', null, h('td', null, step.name, step.detail ? h('span', { class: 'muted' }, ` (${step.detail})`) : null), h('td', null, badge(step.status)), h('td', null, time(step.at, 'time'))))),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'saga-title' },
    h('h2', { id: 'saga-title' }, 'Saga ', badge(saga.state)),
    scrollTable('Saga steps', steps),
    h('h3', null, 'Compensations'),
    saga.compensations.length === 0 && saga.pendingCompensations.length === 0
      ? h('p', { class: 'muted' }, 'None: nothing had to be undone.')
      : h(
          'ul',
          { class: 'compensations', 'aria-label': 'Compensations' },
          saga.compensations.map((c) => h('li', { 'data-compensation': c.name }, h('strong', null, c.name), ' ', h('span', { class: 'muted' }, c.detail), ' ', time(c.at, 'time'))),
          saga.pendingCompensations.map((name) => h('li', { 'data-compensation': name }, h('strong', null, name), ' ', badge('pending'), ' waiting')),
        ),
  );
}
