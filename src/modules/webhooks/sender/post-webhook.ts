import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { FORBIDDEN_ADDRESS, hostOf, isForbiddenAddress, type AddressPolicy } from '../domain/address-policy.js';

/** At most this much of a response body is kept (the issue: the first 1 KiB). */
export const RESPONSE_BODY_LIMIT = 1024;

/** What one attempt came to: an HTTP status, or an error before any (refused address, timeout, connection). */
export interface PostOutcome {
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, when it did. */
  error: string | null;
  /** The first 1 KiB of the response body. */
  responseBody: string | null;
  durationMs: number;
}

export interface PostRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: AddressPolicy;
}

/**
 * POSTs one webhook. The address is checked after DNS resolution, at connection time (a name
 * that resolved to a public address at registration may resolve to a private one now);
 * redirects are not followed (a 3xx is a failure); the whole attempt has `timeoutMs`.
 */
export function postWebhook(input: PostRequest, now: () => number = Date.now): Promise<PostOutcome> {
  const started = now();
  const finish = (outcome: Omit<PostOutcome, 'durationMs'>): PostOutcome => ({ ...outcome, durationMs: now() - started });
  const url = new URL(input.url);
  const host = hostOf(url);
  if (!input.policy.allowPrivate && isIP(host) !== 0 && isForbiddenAddress(host)) {
    return Promise.resolve(finish({ ok: false, statusCode: null, error: `refused: ${host} is ${FORBIDDEN_ADDRESS} (WEBHOOK_ALLOW_PRIVATE)`, responseBody: null }));
  }

  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Omit<PostOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(finish(outcome));
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'orderflow-webhooks/1', ...input.headers, 'content-length': String(Buffer.byteLength(input.body)) },
      // A connection of its own per attempt: a pooled socket would skip the address check.
      agent: false,
      lookup: input.policy.allowPrivate ? undefined : guardedLookup,
    });
    const deadline = setTimeout(() => {
      request.destroy(new Error(`timed out after ${input.timeoutMs} ms`));
    }, input.timeoutMs);
    request.on('error', (error) => done({ ok: false, statusCode: null, error: error.message, responseBody: null }));
    request.on('response', (response: IncomingMessage) => {
      const statusCode = response.statusCode ?? 0;
      readHead(response, (responseBody) => {
        const redirect = statusCode >= 300 && statusCode < 400;
        const error = redirect ? `redirect to ${String(response.headers.location ?? '(no location)')} not followed` : statusCode >= 200 && statusCode < 300 ? null : `HTTP ${statusCode}`;
        done({ ok: error === null, statusCode, error, responseBody });
        request.destroy();
      });
    });
    request.end(input.body);
  });
}

/** Reads at most RESPONSE_BODY_LIMIT bytes of the body, then stops reading. */
function readHead(response: IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const end = () => {
    if (finished) return;
    finished = true;
    then(Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8'));
  };
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_BODY_LIMIT) end();
  });
  response.on('end', end);
  response.on('error', end);
  response.on('aborted', end);
}

/** dns.lookup, refusing a name whose addresses include a forbidden one (checked where the socket connects). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isForbiddenAddress(a.address));
    if (refused) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${refused.address}, ${FORBIDDEN_ADDRESS} (WEBHOOK_ALLOW_PRIVATE)`), { code: 'EADDRREFUSED' }), '', 0);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};

/** Resolves a host to every address it has (the registration check), IP literals as themselves. */
export function resolveAll(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return Promise.resolve([host]);
  return new Promise((resolve, reject) => dnsLookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses.map((a) => a.address)))));
}
