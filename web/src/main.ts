import { h, replace } from './dom.js';
import { createLiveHub, type LiveState } from './live.js';
import { href, parseHash } from './router.js';
import { claimsOf, clearToken, getToken, takeTokenFromFragment } from './session.js';
import './styles/base.css';
import './styles/controls.css';
import './styles/views.css';
import './styles/phone.css';
import type { View, ViewContext } from './views/context.js';
import { deadLettersView } from './views/dead-letters.js';
import { eventsView } from './views/events.js';
import { inventoryView } from './views/inventory.js';
import { orderView } from './views/order.js';
import { ordersView } from './views/orders.js';
import { signInView } from './views/sign-in.js';
import { empty, heading } from './views/states.js';
import { throughputView } from './views/throughput.js';
import { webhookView, webhooksView } from './views/webhooks.js';

const NAV: { name: string; label: string }[] = [
  { name: 'orders', label: 'Orders' },
  { name: 'events', label: 'Events' },
  { name: 'inventory', label: 'Inventory' },
  { name: 'dead-letters', label: 'Dead letters' },
  { name: 'webhooks', label: 'Webhooks' },
  { name: 'throughput', label: 'Throughput' },
];

const live = createLiveHub();
const app = document.getElementById('app')!;
const main = h('main', { id: 'main', tabindex: -1 });
const nav = h('ul', { class: 'nav-links' });
const session = h('div', { class: 'session' });
const liveIndicator = h('span', { class: 'live-indicator', role: 'status', 'aria-live': 'polite' });
let dispose: (() => void) | void;
let firstRender = true;

function pick(name: string, params: string[]): { view: View; title: string } {
  if (name === 'orders' && params.length > 0) return { view: orderView, title: 'Order' };
  if (name === 'orders') return { view: ordersView, title: 'Orders' };
  if (name === 'events') return { view: eventsView, title: 'Events' };
  if (name === 'inventory') return { view: inventoryView, title: 'Inventory' };
  if (name === 'dead-letters') return { view: deadLettersView, title: 'Dead letters' };
  if (name === 'throughput') return { view: throughputView, title: 'Throughput' };
  if (name === 'webhooks' && params.length > 0) return { view: webhookView, title: 'Webhook endpoint' };
  if (name === 'webhooks') return { view: webhooksView, title: 'Webhooks' };
  if (name === 'sign-in') return { view: signInView, title: 'Sign in' };
  return {
    view: (root) => root.replaceChildren(heading('Not found'), empty('There is no such page', `Nothing lives at ${location.hash}.`, h('a', { href: '#/orders' }, 'Go to the orders'))),
    title: 'Not found',
  };
}

function render(): void {
  // The banner's sign-in link can also arrive in a tab that already shows the console.
  if (takeTokenFromFragment(location, history)) live.stop();
  const route = parseHash(location.hash);
  const token = getToken();
  if (!token && route.name !== 'sign-in') {
    location.replace(href('sign-in', [], { next: location.hash || '#/orders' }));
    return;
  }
  if (token) live.start();
  const claims = claimsOf(token);
  renderChrome(route.name, claims);
  dispose?.();
  const { view, title } = pick(route.name, route.params);
  document.title = `${title} · orderflow console`;
  const context: ViewContext = {
    route,
    live,
    claims,
    navigate: (hash) => {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    refresh: render,
    signOut,
  };
  main.replaceChildren();
  dispose = view(main, context);
  // Keyboard and screen-reader users land on the new view's heading, not at the top of the page.
  if (!firstRender) main.querySelector<HTMLElement>('h1')?.focus();
  firstRender = false;
}

function renderChrome(current: string, claims: ReturnType<typeof claimsOf>): void {
  replace(
    nav,
    NAV.map((item) =>
      h('li', null, h('a', { href: href(item.name), 'aria-current': item.name === current ? 'page' : undefined }, item.label)),
    ),
  );
  if (!claims) return replace(session);
  replace(
    session,
    liveIndicator,
    h('span', { class: 'who', title: `signed in as ${claims.sub}` }, h('span', { class: 'who-sub' }, claims.sub), ' ', h('span', { class: `role role-${claims.role}` }, claims.role)),
    h('button', { type: 'button', class: 'link-button', onclick: () => signOut() }, 'Sign out'),
  );
}

function signOut(reason?: string): void {
  live.stop();
  clearToken();
  location.hash = href('sign-in', [], { reason });
}

function showLive(state: LiveState): void {
  const text: Record<LiveState['state'], string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Live updates off' };
  liveIndicator.className = `live-indicator live-${state.state}`;
  liveIndicator.textContent = text[state.state];
  liveIndicator.title = state.state === 'stopped' ? `${state.error.status} ${state.error.code}: ${state.error.detail}` : 'following the event log';
}

app.replaceChildren(
  h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/orders' }, 'orderflow', h('span', null, ' console')),
    h('nav', { 'aria-label': 'Console' }, nav),
    session,
  ),
  main,
  h('div', { id: 'announcer', class: 'visually-hidden', 'aria-live': 'polite' }),
);
document.getElementById('skip-link')?.addEventListener('click', (event) => {
  // The fragment is the router's: move focus instead of following the link.
  event.preventDefault();
  main.focus();
});
live.onState(showLive);
window.addEventListener('hashchange', render);
render();
