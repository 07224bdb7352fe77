import { api, query } from '../api.js';
import { badge, debounce, h, replace, scrollTable, time } from '../dom.js';
import { href } from '../router.js';
import type { DeadLetter, DeadLetterDetail, EventEnvelope } from '../types.js';
import type { View } from './context.js';
import { empty, errorState, heading, loading, notice } from './states.js';

const TABS = [
  { value: '', label: 'Open (retrying and dead)' },
  { value: 'dead', label: 'Dead' },
  { value: 'retrying', label: 'Retrying' },
  { value: 'discarded', label: 'Discarded' },
];

/**
 * Dead letters: deliveries that failed, with their error, attempts and the events parked behind
 * them; inspect one, re-drive it (a fresh round of attempts; the parked events follow) or
 * discard it (the parked events are delivered without it).
 */
export const deadLettersView: View = (root, context) => {
  const status = context.route.query.get('status') ?? '';
  const list = h('div', null, loading('dead letters'));
  const flash = h('div', { class: 'form-status' });
  const open = new Set<string>();
  let closed = false;

  root.replaceChildren(
    heading('Dead letters', h('p', { class: 'subtitle' }, 'Deliveries whose handler kept failing; later events of the same aggregate wait (parked) behind each.')),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'Dead letters by status' },
      TABS.map((t) => h('a', { href: href('dead-letters', [], { status: t.value }), 'aria-current': t.value === status ? 'page' : undefined }, t.label)),
    ),
    flash,
    list,
  );

  let shown = '';
  /** Renders the list; unless forced, only when it changed (a re-render would lose focus). */
  async function load(force = true): Promise<void> {
    try {
      const { deadLetters } = await api<{ deadLetters: DeadLetter[] }>(`/api/dead-letters${query({ status, limit: 200 })}`);
      if (closed) return;
      const json = JSON.stringify(deadLetters);
      if (!force && json === shown) return;
      shown = json;
      if (deadLetters.length === 0) return replace(list, empty(status === 'discarded' ? 'Nothing discarded' : 'No dead letters', 'Deliveries that fail every retry land here, with the events parked behind them.'));
      const rows = deadLetters.flatMap((d) => [row(d), detailRow(d)]);
      const head = h('thead', null, h('tr', null, ['Event', 'Consumer', 'Status', 'Attempts', 'Error', 'Parked', 'Last failure', 'Actions'].map((c, i) => h('th', { scope: 'col', class: i === 6 ? 'hide-narrow' : undefined }, c))));
      replace(list, scrollTable('Dead letters', h('table', { class: 'data stack dead-letters' }, head, h('tbody', null, rows))));
    } catch (error) {
      if (!closed) replace(list, errorState(error, context, () => void load()));
    }
  }

  function row(d: DeadLetter): HTMLTableRowElement {
    const actions = h('div', { class: 'actions' });
    const inspect = h('button', { type: 'button', 'aria-expanded': open.has(d.id) ? 'true' : 'false', 'aria-controls': `dl-detail-${d.id}`, onclick: () => toggle(d.id) }, 'Inspect');
    actions.append(inspect);
    if (d.status !== 'discarded') {
      actions.append(h('button', { type: 'button', class: 'primary', onclick: () => void act(d, 'retry') }, 'Re-drive'));
      const discard = h('button', { type: 'button', class: 'danger', onclick: () => confirmDiscard() }, 'Discard');
      const confirmDiscard = () =>
        discard.replaceWith(
          h(
            'span',
            { class: 'confirm' },
            h('button', { type: 'button', class: 'danger', onclick: () => void act(d, 'discard') }, 'Confirm discard'),
            h('button', { type: 'button', onclick: () => void load() }, 'Keep'),
          ),
        );
      actions.append(discard);
    }
    return h(
      'tr',
      { 'data-dead-letter-id': d.id, 'data-event-type': d.eventType, 'data-consumer': d.consumer },
      h('th', { scope: 'row' }, h('strong', null, d.eventType), h('span', { class: 'muted block' }, d.aggregateId)),
      h('td', { 'data-label': 'Consumer' }, d.consumer),
      h('td', { 'data-label': 'Status' }, badge(d.status)),
      h('td', { class: 'num', 'data-label': 'Attempts' }, String(d.attempts)),
      h('td', { class: 'error-text', 'data-label': 'Error' }, d.error),
      h('td', { class: 'num', 'data-label': 'Parked' }, String(d.parkedCount)),
      h('td', { class: 'hide-narrow' }, time(d.lastFailedAt)),
      h('td', { 'data-label': 'Actions' }, actions),
    );
  }

  function detailRow(d: DeadLetter): HTMLTableRowElement {
    const cell = h('td', { colspan: 8 });
    const tr = h('tr', { id: `dl-detail-${d.id}`, class: 'detail-row', hidden: !open.has(d.id) }, cell);
    if (open.has(d.id)) void fillDetail(d.id, cell);
    return tr;
  }

  function toggle(id: string): void {
    if (open.has(id)) open.delete(id);
    else open.add(id);
    void load();
  }

  async function fillDetail(id: string, cell: HTMLElement): Promise<void> {
    replace(cell, loading('the dead letter'));
    try {
      const detail = await api<DeadLetterDetail>(`/api/dead-letters/${encodeURIComponent(id)}`);
      // Parked entries carry ids only: read each event for its type (a few at most, usually).
      const parked = await Promise.all(detail.parked.slice(0, 50).map((p) => api<EventEnvelope>(`/api/events/${encodeURIComponent(p.eventId)}`).catch(() => undefined)));
      if (!closed) replace(cell, ...describe(detail, parked));
    } catch (error) {
      replace(cell, errorState(error, context));
    }
  }

  async function act(d: DeadLetter, action: 'retry' | 'discard'): Promise<void> {
    try {
      await api(`/api/dead-letters/${encodeURIComponent(d.id)}/${action}`, { method: 'POST' });
      replace(flash, notice('ok', action === 'retry' ? `Re-driven: ${d.eventType} goes to ${d.consumer} again; ${d.parkedCount} parked event(s) follow once it succeeds.` : `Discarded ${d.eventType} for ${d.consumer}; ${d.parkedCount} parked event(s) are delivered without it.`));
    } catch (error) {
      replace(flash, errorState(error, context));
    }
    await load();
  }

  const refresh = debounce(() => void load(false), 500);
  // Failures leave no event in the log: look again every few seconds, and on any new event.
  const timer = window.setInterval(refresh, 3000);
  const unsubscribe = context.live.subscribe(() => refresh());
  void load();
  return () => {
    closed = true;
    window.clearInterval(timer);
    unsubscribe();
    refresh.cancel();
  };
};

function describe(d: DeadLetterDetail, parked: (EventEnvelope | undefined)[]): HTMLElement[] {
  return [
    h('h3', null, 'Parked behind it'),
    d.parked.length === 0
      ? h('p', { class: 'muted' }, 'No event waits behind this one.')
      : h(
          'ol',
          { class: 'parked', 'aria-label': 'Parked events' },
          d.parked.map((p, i) => h('li', { 'data-parked-event': parked[i]?.eventType ?? p.eventId }, `#${p.sequence} `, h('strong', null, parked[i]?.eventType ?? p.eventId), parked[i] ? h('span', { class: 'muted' }, ` ${parked[i]!.aggregateType} ${parked[i]!.aggregateId}`) : null)),
        ),
    h('h3', null, 'Attempts'),
    h('ol', { class: 'attempts' }, d.history.map((a) => h('li', null, time(new Date(a.at).toISOString()), ` — ${a.error}`, a.retryAt ? h('span', { class: 'muted' }, ' (retry scheduled)') : null))),
    h('details', null, h('summary', null, 'The failed event\u2019s envelope'), h('pre', { class: 'envelope' }, JSON.stringify(d.event, null, 2))),
  ];
}
