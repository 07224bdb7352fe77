import { ApiError } from '../api.js';
import { h, type Child } from '../dom.js';
import type { ViewContext } from './context.js';

/** The view's heading, focusable so navigation can move focus to it. */
export function heading(text: string, ...extra: Child[]): HTMLElement {
  return h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, text), ...extra);
}

export function loading(what: string): HTMLElement {
  return h('p', { class: 'state state-loading', role: 'status' }, `Loading ${what}…`);
}

export function empty(title: string, text: string, ...actions: Child[]): HTMLElement {
  return h('div', { class: 'state state-empty' }, h('p', { class: 'state-title' }, title), h('p', null, text), ...actions);
}

/**
 * An error the page can explain: a customer token on an admin view (403), a refused token
 * (401), the server away (network), or whatever problem the API described.
 */
export function errorState(error: unknown, context: ViewContext, retry?: () => void): HTMLElement {
  const signInAgain = h('button', { type: 'button', onclick: () => context.signOut() }, 'Sign in with another token');
  if (error instanceof ApiError && error.status === 403) {
    const who = context.claims ? `You are signed in as ${context.claims.sub} (role ${context.claims.role}).` : '';
    return h(
      'div',
      { class: 'state state-error state-forbidden', role: 'alert' },
      h('p', { class: 'state-title' }, 'Admins only'),
      h('p', null, `The API refused this view with 403 ${error.code}: ${error.detail}.`),
      h('p', null, `${who} The console's views need an admin token; a customer token can only place and read its own orders through the API.`),
      signInAgain,
    );
  }
  if (error instanceof ApiError && error.status === 401) {
    return h(
      'div',
      { class: 'state state-error', role: 'alert' },
      h('p', { class: 'state-title' }, 'Your token was refused'),
      h('p', null, `The API answered 401 ${error.code}: ${error.detail}.`),
      signInAgain,
    );
  }
  const message = error instanceof ApiError ? (error.status === 0 ? error.detail : `The API answered ${error.status} ${error.code}: ${error.detail}.`) : String(error);
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', { class: 'state-title' }, 'Something went wrong'),
    h('p', null, message),
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null,
  );
}

/** A short-lived success or failure line next to a form or button. */
export function notice(kind: 'ok' | 'error', text: string): HTMLElement {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
