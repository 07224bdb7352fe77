// The signed-in token, kept in sessionStorage: it lives as long as the tab, and is sent only
// as an Authorization header to this server's API.

const KEY = 'orderflow.token';

/** What the console reads from a token's claims, for display only: the server verifies it. */
export interface Claims {
  sub: string;
  role: string;
  /** Expiry, epoch seconds. */
  exp: number | undefined;
}

export function getToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/** The claims of a JWT, unverified; undefined when it is not one. */
export function claimsOf(token: string | undefined): Claims | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims = JSON.parse(json) as Record<string, unknown>;
    return { sub: String(claims.sub ?? '?'), role: String(claims.role ?? '?'), exp: typeof claims.exp === 'number' ? claims.exp : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Signs in from a `#token=…` fragment (the link the embedded mode prints at start): stores
 * the token and takes it out of the address bar and the history. Returns whether it did.
 */
export function takeTokenFromFragment(location: Location, history: History): boolean {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return false;
  setToken(decodeURIComponent(match[1]!));
  history.replaceState(null, '', `${location.pathname}${location.search}#/orders`);
  return true;
}
