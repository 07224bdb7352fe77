import { api, query } from '../api.js';
import { badge, debounce, h, replace, scrollTable, time } from '../dom.js';
import { href } from '../router.js';
import type { Webhook, WebhookDelivery } from '../types.js';
import type { View } from './context.js';
import { empty, errorState, heading, loading, notice } from './states.js';

/**
 * Webhooks: the endpoints (URL, event types, enabled or why not) and a form to register one,
 * whose signing secret is shown once; an endpoint's page lists its deliveries (status,
 * attempts, last answer, next attempt) with a re-send per delivery, enable/disable, re-drive of
 * the dead ones and a secret rotation.
 */
export const webhooksView: View = (root, context) => {
  const list = h('div', null, loading('webhook endpoints'));
  const formArea = h('div');
  const status = h('div', { class: 'form-status' });
  let closed = false;
  root.replaceChildren(
    heading('Webhooks', h('p', { class: 'subtitle' }, 'Signed (Standard Webhooks), retried, per-order ordered deliveries of the event log to your systems.')),
    h('section', { class: 'card', 'aria-labelledby': 'webhook-new-title' }, h('h2', { id: 'webhook-new-title' }, 'Register an endpoint'), formArea, status),
    h('section', { class: 'card', 'aria-labelledby': 'webhook-list-title' }, h('h2', { id: 'webhook-list-title' }, 'Endpoints'), list),
  );

  async function load(): Promise<void> {
    try {
      const { webhooks } = await api<{ webhooks: Webhook[] }>('/webhooks');
      if (closed) return;
      if (webhooks.length === 0) return replace(list, empty('No endpoints', 'Register one above; each gets the events it subscribes to.'));
      const head = h('thead', null, h('tr', null, ['URL', 'Event types', 'Status', 'Failures in a row', 'Created'].map((c) => h('th', { scope: 'col' }, c))));
      const rows = webhooks.map((w) =>
        h(
          'tr',
          { 'data-webhook-id': w.webhookId },
          h('th', { scope: 'row' }, h('a', { href: href('webhooks', [w.webhookId]) }, w.url), w.description ? h('span', { class: 'muted block' }, w.description) : null),
          h('td', { 'data-label': 'Event types' }, w.eventTypes.join(', ')),
          h('td', { 'data-label': 'Status' }, badge(w.enabled ? 'enabled' : 'disabled'), w.disabledReason ? h('span', { class: 'muted block' }, w.disabledReason) : null),
          h('td', { class: 'num', 'data-label': 'Failures in a row' }, String(w.consecutiveFailures)),
          h('td', { 'data-label': 'Created' }, time(w.createdAt)),
        ),
      );
      replace(list, scrollTable('Webhook endpoints', h('table', { class: 'data stack webhooks' }, head, h('tbody', null, rows))));
    } catch (error) {
      if (!closed) replace(list, errorState(error, context, () => void load()));
    }
  }

  async function renderForm(): Promise<void> {
    try {
      const { eventTypes } = await api<{ eventTypes: string[] }>('/webhooks/event-types');
      if (closed) return;
      const url = h('input', { id: 'webhook-url', name: 'url', type: 'url', required: true, placeholder: 'https://example.com/hooks/orderflow', size: 40 });
      const description = h('input', { id: 'webhook-description', name: 'description', type: 'text', maxlength: 500 });
      const boxes = eventTypes.map((type) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'eventTypes', value: type }), type));
      const form = h(
        'form',
        { class: 'webhook-form', onsubmit: (event: Event) => void submit(event) },
        h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL'), url),
        h('div', { class: 'field' }, h('label', { for: 'webhook-description' }, 'Description'), description),
        h('fieldset', { class: 'event-types' }, h('legend', null, 'Event types'), boxes),
        h('button', { type: 'submit', class: 'primary' }, 'Register'),
      );
      async function submit(event: Event): Promise<void> {
        event.preventDefault();
        const chosen = [...form.querySelectorAll<HTMLInputElement>('input[name=eventTypes]:checked')].map((box) => box.value);
        if (chosen.length === 0) return replace(status, notice('error', 'Choose at least one event type.'));
        try {
          const created = await api<Webhook & { secret: string }>('/webhooks', { method: 'POST', body: { url: url.value, eventTypes: chosen, description: description.value || undefined } });
          replace(
            status,
            h(
              'div',
              { class: 'notice notice-ok', role: 'status' },
              h('p', null, `Registered ${created.url}. Its signing secret, shown only now — keep it where the receiver verifies signatures:`),
              h('code', { class: 'secret', 'data-secret': '' }, created.secret),
            ),
          );
          form.reset();
          await load();
        } catch (error) {
          replace(status, errorState(error, context));
        }
      }
      replace(formArea, form);
    } catch (error) {
      if (!closed) replace(formArea, errorState(error, context));
    }
  }

  void renderForm();
  void load();
  return () => {
    closed = true;
  };
};

/** One endpoint: its settings and actions, and its deliveries with a re-send each. */
export const webhookView: View = (root, context) => {
  const id = context.route.params[0]!;
  const summary = h('div', null, loading('the endpoint'));
  const deliveries = h('div', null, loading('deliveries'));
  const flash = h('div', { class: 'form-status' });
  let closed = false;
  root.replaceChildren(
    heading('Webhook endpoint', h('p', { class: 'subtitle' }, h('a', { href: href('webhooks') }, '← All endpoints'))),
    h('section', { class: 'card', 'aria-labelledby': 'webhook-title' }, h('h2', { id: 'webhook-title' }, 'Endpoint'), summary, flash),
    h('section', { class: 'card', 'aria-labelledby': 'deliveries-title' }, h('h2', { id: 'deliveries-title' }, 'Deliveries'), deliveries),
  );

  async function act(path: string, method: string, body: unknown, done: (answer: Record<string, unknown>) => HTMLElement): Promise<void> {
    try {
      const answer = await api<Record<string, unknown>>(`/webhooks/${encodeURIComponent(id)}${path}`, { method, body });
      replace(flash, done(answer));
    } catch (error) {
      replace(flash, errorState(error, context));
    }
    await load(true);
  }

  function renderSummary(w: Webhook): void {
    replace(
      summary,
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'URL'),
        h('dd', { 'data-webhook-url': '' }, w.url),
        h('dt', null, 'Event types'),
        h('dd', null, w.eventTypes.join(', ')),
        h('dt', null, 'Status'),
        h('dd', { 'data-webhook-status': w.enabled ? 'enabled' : 'disabled' }, badge(w.enabled ? 'enabled' : 'disabled'), w.disabledReason ? ` ${w.disabledReason}` : ''),
        h('dt', null, 'Failed attempts in a row'),
        h('dd', null, String(w.consecutiveFailures)),
        w.previousSecretExpiresAt ? [h('dt', null, 'Previous secret signs until'), h('dd', null, time(w.previousSecretExpiresAt))] : null,
      ),
      h(
        'div',
        { class: 'actions' },
        w.enabled
          ? h('button', { type: 'button', onclick: () => void act('', 'PATCH', { enabled: false }, () => notice('ok', 'Disabled: deliveries are held until it is enabled again.')) }, 'Disable')
          : h('button', { type: 'button', class: 'primary', onclick: () => void act('', 'PATCH', { enabled: true }, () => notice('ok', 'Enabled: held deliveries go out in order.')) }, 'Enable'),
        h('button', { type: 'button', onclick: () => void act('/redrive', 'POST', undefined, (a) => notice('ok', `Re-driven ${String(a.redriven)} dead deliveries.`)) }, 'Re-drive dead deliveries'),
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              void act('/rotate-secret', 'POST', {}, (a) =>
                h('div', { class: 'notice notice-ok', role: 'status' }, h('p', null, 'New signing secret, shown only now; the old one signs beside it for a day:'), h('code', { class: 'secret', 'data-secret': '' }, String(a.secret))),
              ),
          },
          'Rotate secret',
        ),
      ),
    );
  }

  function deliveryRow(d: WebhookDelivery): HTMLTableRowElement {
    return h(
      'tr',
      { 'data-delivery-id': d.deliveryId, 'data-event-type': d.eventType, 'data-status': d.status },
      h('th', { scope: 'row' }, h('strong', null, d.eventType), h('span', { class: 'muted block' }, d.deliveryId)),
      h('td', { 'data-label': 'Status' }, badge(d.status)),
      h('td', { class: 'num', 'data-label': 'Attempts' }, String(d.attempts)),
      h('td', { 'data-label': 'Response' }, d.lastStatusCode === null ? '—' : String(d.lastStatusCode), d.lastError ? h('span', { class: 'error-text block' }, d.lastError) : null),
      h('td', { class: 'num', 'data-label': 'Took' }, d.lastDurationMs === null ? '—' : `${d.lastDurationMs} ms`),
      h('td', { 'data-label': 'Last attempt' }, time(d.lastAttemptAt)),
      h('td', { 'data-label': 'Next attempt' }, time(d.nextAttemptAt)),
      h(
        'td',
        { 'data-label': 'Actions' },
        h('button', { type: 'button', onclick: () => void act(`/deliveries/${encodeURIComponent(d.deliveryId)}/resend`, 'POST', undefined, () => notice('ok', `Re-sent ${d.eventType} (webhook-id ${d.deliveryId}).`)) }, 'Re-send'),
      ),
    );
  }

  let shown = '';
  async function load(force = false): Promise<void> {
    try {
      const [endpoint, page] = await Promise.all([api<Webhook>(`/webhooks/${encodeURIComponent(id)}`), api<{ deliveries: WebhookDelivery[] }>(`/webhooks/${encodeURIComponent(id)}/deliveries${query({ limit: 200 })}`)]);
      if (closed) return;
      const json = JSON.stringify([endpoint, page]);
      if (!force && json === shown) return;
      shown = json;
      renderSummary(endpoint);
      if (page.deliveries.length === 0) return replace(deliveries, empty('No deliveries yet', 'Events of the subscribed types show up here as they are sent.'));
      const head = h('thead', null, h('tr', null, ['Event', 'Status', 'Attempts', 'Response', 'Took', 'Last attempt', 'Next attempt', 'Actions'].map((c) => h('th', { scope: 'col' }, c))));
      replace(deliveries, scrollTable('Deliveries', h('table', { class: 'data stack deliveries' }, head, h('tbody', null, page.deliveries.map(deliveryRow)))));
    } catch (error) {
      if (!closed) replace(summary, errorState(error, context, () => void load(true)));
    }
  }

  const refresh = debounce(() => void load(), 500);
  // Attempts leave no event in the log: look again every few seconds, and on any new event.
  const timer = window.setInterval(refresh, 2000);
  const unsubscribe = context.live.subscribe(() => refresh());
  void load(true);
  return () => {
    closed = true;
    window.clearInterval(timer);
    unsubscribe();
    refresh.cancel();
  };
};
