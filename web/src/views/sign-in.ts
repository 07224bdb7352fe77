import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { claimsOf, clearToken, setToken } from '../session.js';
import type { View } from './context.js';
import { notice } from './states.js';

/**
 * Sign-in by token: the token is checked with one call to the API (GET /orders?limit=1, which
 * any valid token may make), then kept in sessionStorage for this tab.
 */
export const signInView: View = (root, context) => {
  const reason = context.route.query.get('reason');
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-help' });
  const show = h('input', { id: 'show-token', type: 'checkbox', onchange: () => (input.type = show.checked ? 'text' : 'password') });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', novalidate: true, onsubmit: (event: Event) => void signIn(event) },
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('p', { id: 'token-help', class: 'help' }, 'An admin token: the start-up banner of ', h('code', null, 'npm start'), ' prints one (and a link that signs you in), or mint one with ', h('code', null, 'npx orderflow token --role admin --sub you'), '.'),
    h('div', { class: 'inline' }, show, h('label', { for: 'show-token' }, 'Show token')),
    submit,
    status,
  );

  async function signIn(event: Event): Promise<void> {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      status.replaceChildren(notice('error', 'Paste a token first.'));
      input.focus();
      return;
    }
    if (!claimsOf(token)) {
      status.replaceChildren(notice('error', 'That is not a token: a token has three parts separated by dots (a JWT).'));
      input.focus();
      return;
    }
    submit.disabled = true;
    setToken(token);
    try {
      await api('/orders?limit=1');
      const next = context.route.query.get('next');
      context.navigate(next && next.startsWith('#/') && !next.startsWith('#/sign-in') ? next : '#/orders');
    } catch (error) {
      clearToken();
      const text = error instanceof ApiError ? `The API refused the token: ${error.status} ${error.code}: ${error.detail}.` : String(error);
      status.replaceChildren(notice('error', text));
      submit.disabled = false;
      input.focus();
    }
  }

  root.replaceChildren(
    h(
      'section',
      { class: 'sign-in-page', 'aria-labelledby': 'sign-in-title' },
      h('h1', { id: 'sign-in-title', tabindex: -1 }, 'Sign in to the orderflow console'),
      reason ? notice('error', reason) : null,
      form,
    ),
  );
  input.focus();
};
