// Hash routes: #/orders, #/orders/<id>, #/events?type=…; the server only ever serves "/".

export interface Route {
  /** The first path segment: orders, events, inventory, dead-letters, throughput, sign-in. */
  name: string;
  /** The segments after it, decoded. */
  params: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const segments = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  return { name: segments[0] ?? 'orders', params: segments.slice(1), query: new URLSearchParams(search) };
}

/** A hash link: href('orders', ['o-1']) → #/orders/o-1; empty query values are left out. */
export function href(name: string, params: string[] = [], query: Record<string, string | number | undefined | null> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const path = [name, ...params.map((p) => encodeURIComponent(p))].join('/');
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ''}`;
}
