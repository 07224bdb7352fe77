import { getToken } from './session.js';

/** An RFC 9457 problem the API answered with, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly title: string,
  ) {
    super(`${status} ${code}: ${detail}`);
    this.name = 'ApiError';
  }
}

interface CallOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** More request headers (If-Match). */
  headers?: Record<string, string>;
}

/** Calls the API as the signed-in caller: JSON in and out; a problem becomes an ApiError. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  return (await apiWithHeaders<T>(path, options)).body;
}

/** `api`, with the response's headers (an order's ETag). */
export async function apiWithHeaders<T>(path: string, options: CallOptions = {}): Promise<{ body: T; headers: Headers }> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'the server could not be reached; is orderflow running?', 'Network error');
  }
  const text = await response.text();
  const body = text === '' ? undefined : safeJson(text);
  if (!response.ok) throw problemOf(response.status, body);
  return { body: body as T, headers: response.headers };
}

export function problemOf(status: number, body: unknown): ApiError {
  const problem = (body ?? {}) as { code?: string; detail?: string; title?: string };
  return new ApiError(status, problem.code ?? `HTTP_${status}`, problem.detail ?? 'the server answered without details', problem.title ?? `HTTP ${status}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

/** Builds a query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
