import { isIP } from 'node:net';
import { AppError } from './kernel/errors.js';
import { tracingRequested } from './platform/observability/tracing.js';
import type { HandlerFaults } from './platform/delivery/fault-injection.js';

/** The modules a process can run (SPEC §1). */
export const moduleNames = ['orders', 'inventory', 'payments', 'shipments', 'http', 'webhooks'] as const;
export type ModuleName = (typeof moduleNames)[number];

/** Validated, frozen configuration; the only place that reads `process.env`. */
export interface Config {
  port: number;
  /** Address the HTTP API listens on (`HOST`): loopback by default; `0.0.0.0` (or `::`) for every interface. */
  host: string;
  /**
   * `TRUST_PROXY`: which proxies' `X-Forwarded-For` gives the client address the audit trail
   * records: false (the socket's address), true (any), a number of hops, or their addresses.
   */
  trustProxy: TrustProxy;
  databaseUrl: string;
  natsUrl: string | undefined;
  /** JetStream stream of the events (`NATS_STREAM`); subjects are `<natsSubjectPrefix>.events.<partition>.<eventType>`. */
  natsStream: string;
  /** The stream name in lower case; one stream per prefix, so tests and deployments can share a server. */
  natsSubjectPrefix: string;
  /** Partitions of the stream (`NATS_PARTITIONS`): the unit of ordering and of sharing work between processes. */
  natsPartitions: number;
  modules: readonly ModuleName[];
  jwtSecret: string | undefined;
  sagaTimeoutMs: number;
  /** `RETURN_WINDOW_DAYS`: how long after delivery a return may be requested (in ms). */
  returnWindowMs: number;
  /** `SHORT_ORDER_REVIEW_MS`: how long an order short of a product without backorders waits for an admin's override; 0 (default) rejects it at once. */
  shortOrderReviewMs: number;
  /** `BACKORDER_TIMEOUT_MS`: how long an order may wait for backordered stock before it is cancelled (default 7 days). */
  backorderTimeoutMs: number;
  paymentSuccessRate: number;
  paymentLatencyMs: number;
  /** POST /orders per caller per minute; 0 turns the limit off. */
  orderRateLimit: number;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  delivery: { maxRetries: number; retryBaseMs: number; batchSize: number };
  /**
   * TEST-ONLY (`ORDERFLOW_FAULTS=<seed>:<rate>[:<untilEpochMs>]`, unset by default): handlers
   * fail at random, as the fault campaign of docs/reliability.md wants. Never set it in production.
   */
  faults: HandlerFaults | undefined;
  /** How long an `Idempotency-Key` is remembered (`IDEMPOTENCY_TTL`); older keys are pruned and may be used again. */
  idempotencyTtlMs: number;
  /** How long an inbox record is kept once its event is behind every checkpoint of its consumer (`INBOX_RETENTION`). */
  inboxRetentionMs: number;
  /** Maximum age of a message in the JetStream stream (`NATS_STREAM_MAX_AGE`); 0 keeps every message. */
  natsStreamMaxAgeMs: number;
  /** PostgreSQL connect and statement timeout (`DATABASE_TIMEOUT_MS`): a database that does not answer fails requests with 503. */
  databaseTimeoutMs: number;
  /** PostgreSQL: named prepared statements on the hot path (`DATABASE_PREPARED_STATEMENTS`, default true). */
  databasePreparedStatements: boolean;
  /** Outgoing webhooks (issue 14): what a delivery may reach, how long it waits, how it retries. */
  webhooks: WebhookSettings;
  /**
   * OpenTelemetry traces: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set
   * and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`; the SDK reads the other
   * `OTEL_*` variables itself.
   */
  tracing: boolean;
  /** `OTEL_TRACE_URL`: a trace's page in the tracing tool, `{traceId}` standing for its id (the console links it). */
  traceUrl: string | undefined;
}

/** Settings of the webhooks module (`WEBHOOK_*`). */
export interface WebhookSettings {
  /** `WEBHOOK_ALLOW_HTTP`: plain http:// endpoints are accepted (development only). */
  allowHttp: boolean;
  /** `WEBHOOK_ALLOW_PRIVATE`: endpoints may resolve to loopback, private, link-local or metadata addresses. */
  allowPrivate: boolean;
  /** `WEBHOOK_TIMEOUT_MS`: how long one delivery attempt may take, connection to last byte. */
  timeoutMs: number;
  /** `WEBHOOK_RETRY_SCHEDULE`: the delay before each retry; a delivery gets 1 + its length attempts. */
  retrySchedule: readonly number[];
  /** `WEBHOOK_DISABLE_AFTER`: failed attempts in a row, with no success between, that disable an endpoint. */
  disableAfterFailures: number;
  /** `WEBHOOK_RETENTION`: how long a delivered delivery (and its attempts) is kept after its delivery. */
  retentionMs: number;
}

/**
 * The webhook settings of an empty environment: https and public addresses only; the retry
 * delays of Standard Webhooks' reference (Svix), 5s,5m,30m,2h,5h,10h,10h: 8 attempts over about 28 hours.
 */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = Object.freeze({
  allowHttp: false,
  allowPrivate: false,
  timeoutMs: 5000,
  retrySchedule: Object.freeze([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  disableAfterFailures: 50,
  retentionMs: 30 * 86_400_000,
});

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90000` (milliseconds) or a number with a unit: `500ms`, `90s`, `15m`, `24h`, `7d`. */
export function parseDuration(raw: string): number | undefined {
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(raw.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]!;
  return Number.isSafeInteger(value) ? value : undefined;
}

const MINUTE = 60_000;

/** Whose `X-Forwarded-For` is believed: nobody, anybody, the nearest N hops, or these addresses (IPs, CIDRs, loopback/linklocal/uniquelocal). */
export type TrustProxy = boolean | number | string[];

function parseTrustProxy(raw: string): TrustProxy | undefined {
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const yesNo = flag(raw);
  if (yesNo !== undefined) return yesNo;
  const addresses = raw.split(',').map((item) => item.trim());
  return addresses.every(isProxyAddress) ? addresses : undefined;
}

function isProxyAddress(item: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
  const [address = '', prefix, ...rest] = item.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}

const flag = (raw: string) => (/^(1|true|yes|on)$/i.test(raw) ? true : /^(0|false|no|off)$/i.test(raw) ? false : undefined);

/** `5s,5m,30m` → milliseconds; `none` → no retries. */
function parseSchedule(raw: string): number[] | undefined {
  if (raw.toLowerCase() === 'none') return [];
  const delays = raw.split(',').map((part) => parseDuration(part));
  return delays.length <= 50 && delays.every((ms) => ms !== undefined && ms <= 7 * 86_400_000) ? (delays as number[]) : undefined;
}
const DAY = 86_400_000;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and checks every variable; a bad value stops start-up with a message naming it. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = <T>(name: string, fallback: T, parse: (raw: string) => T | undefined, accepts: string): T => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = parse(raw.trim());
    const shown = name === 'JWT_SECRET' ? '(hidden)' : JSON.stringify(raw);
    if (value === undefined) problems.push(`${name}=${shown} is invalid: expected ${accepts}`);
    return value ?? fallback;
  };
  const integer = (min: number, max: number) => (raw: string) => {
    const n = Number(raw);
    return /^-?\d+$/.test(raw) && n >= min && n <= max ? n : undefined;
  };
  const duration = (min: number, max: number, zero = false) => (raw: string) => {
    const ms = parseDuration(raw);
    return ms !== undefined && ((zero && ms === 0) || (ms >= min && ms <= max)) ? ms : undefined;
  };
  const oneOf = <T extends string>(values: readonly T[]) => (raw: string) => values.find((v) => v.toLowerCase() === raw.toLowerCase());

  const natsStream = read('NATS_STREAM', 'ORDERFLOW_EVENTS', (raw) => (/^[A-Za-z0-9_-]{1,64}$/.test(raw) ? raw : undefined), 'a stream name of letters, digits, _ and - (at most 64)');
  const tracing = tracingRequested(env);
  const traceUrl = read<string | undefined>('OTEL_TRACE_URL', undefined, (raw) => (/^https?:\/\/\S+$/.test(raw) && raw.includes('{traceId}') ? raw : undefined), 'an http(s) URL with {traceId} where the trace id goes, e.g. http://localhost:16686/trace/{traceId}');
  const config: Config = {
    tracing,
    traceUrl,
    port: read('PORT', 3000, integer(0, 65535), 'a port number 0..65535'),
    host: read('HOST', '127.0.0.1', (raw) => (/^[A-Za-z0-9.:-]{1,253}$/.test(raw) ? raw : undefined), 'an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0'),
    trustProxy: read<TrustProxy>('TRUST_PROXY', false, parseTrustProxy, 'false, true, a number of proxy hops (1), or the proxies\' addresses: IPs or CIDRs, comma-separated (10.0.0.0/8,loopback)'),
    databaseUrl: read('DATABASE_URL', 'sqlite:./data/orderflow.db', (raw) => (/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(raw) ? raw : undefined), 'sqlite:<path> or postgres://user@host:port/db'),
    natsUrl: read<string | undefined>('NATS_URL', undefined, (raw) => (/^(nats|tls):\/\/.+/.test(raw) ? raw : undefined), 'nats://host:port'),
    natsStream,
    natsSubjectPrefix: natsStream.toLowerCase(),
    natsPartitions: read('NATS_PARTITIONS', 8, integer(1, 1024), 'an integer 1..1024'),
    modules: read<readonly ModuleName[]>('MODULES', moduleNames, (raw) => {
      const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
      return names.length > 0 && names.every((n) => (moduleNames as readonly string[]).includes(n)) ? (names as ModuleName[]) : undefined;
    }, `a comma-separated list of ${moduleNames.join(', ')}`),
    jwtSecret: read<string | undefined>('JWT_SECRET', undefined, (raw) => (raw.length >= 32 ? raw : undefined), 'at least 32 characters'),
    returnWindowMs: read('RETURN_WINDOW_DAYS', 30, integer(0, 3650), 'a whole number of days, 0..3650 (0: no returns)') * 86_400_000,
    shortOrderReviewMs: read('SHORT_ORDER_REVIEW_MS', 0, integer(0, 30 * DAY), 'milliseconds, 0..2592000000 (0: short orders are rejected at once)'),
    backorderTimeoutMs: read('BACKORDER_TIMEOUT_MS', 7 * DAY, integer(1, 365 * DAY), 'milliseconds, 1..31536000000'),
    sagaTimeoutMs: read('SAGA_TIMEOUT_MS', 30_000, integer(1, 7 * 24 * 3600 * 1000), 'milliseconds, a positive integer'),
    paymentSuccessRate: read('PAYMENT_SUCCESS_RATE', 0.9, (raw) => (/^\d*\.?\d+$/.test(raw) && Number(raw) <= 1 ? Number(raw) : undefined), 'a number from 0 to 1'),
    paymentLatencyMs: read('PAYMENT_LATENCY_MS', 0, integer(0, 60_000), 'milliseconds, 0..60000'),
    orderRateLimit: read('ORDER_RATE_LIMIT', 600, integer(0, 1_000_000), 'requests per minute, 0 to turn off'),
    sqliteSynchronous: read('SQLITE_SYNCHRONOUS', 'FULL' as const, oneOf(['FULL', 'NORMAL'] as const), 'FULL or NORMAL'),
    logLevel: read('LOG_LEVEL', 'info' as const, oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const), 'fatal, error, warn, info, debug, trace or silent'),
    delivery: {
      maxRetries: read('DELIVERY_MAX_RETRIES', 3, integer(0, 100), 'an integer 0..100'),
      retryBaseMs: read('DELIVERY_RETRY_BASE_MS', 200, integer(1, 600_000), 'milliseconds, a positive integer'),
      batchSize: read('DELIVERY_BATCH_SIZE', 256, integer(1, 10_000), 'an integer 1..10000'),
    },
    faults: read<HandlerFaults | undefined>('ORDERFLOW_FAULTS', undefined, (raw) => {
      const match = /^(\d+):(0|1|0?\.\d+)(?::(\d+))?$/.exec(raw);
      return match ? { seed: Number(match[1]), rate: Number(match[2]), ...(match[3] ? { untilMs: Number(match[3]) } : {}) } : undefined;
    }, '<seed>:<rate 0..1>[:<until epoch ms>] (test only)'),
    idempotencyTtlMs: read('IDEMPOTENCY_TTL', DAY, duration(MINUTE, 365 * DAY), 'a duration from 1m to 365d: milliseconds, or a number with ms, s, m, h or d (24h)'),
    inboxRetentionMs: read('INBOX_RETENTION', 15 * MINUTE, duration(MINUTE, 365 * DAY), 'a duration from 1m to 365d: milliseconds, or a number with ms, s, m, h or d (15m)'),
    // The stream is the feed for other systems (orderflow's consumers read the log): at least a
    // minute, so that a reader of the feed has a chance.
    natsStreamMaxAgeMs: read('NATS_STREAM_MAX_AGE', 7 * DAY, duration(MINUTE, 10 * 365 * DAY, true), 'a duration of at least 1m (7d, 12h), or 0 to keep every message'),
    databaseTimeoutMs: read('DATABASE_TIMEOUT_MS', 5000, integer(100, 600_000), 'milliseconds, 100..600000'),
    databasePreparedStatements: read('DATABASE_PREPARED_STATEMENTS', 'true' as const, oneOf(['true', 'false'] as const), 'true or false') === 'true',
    webhooks: {
      allowHttp: read('WEBHOOK_ALLOW_HTTP', DEFAULT_WEBHOOK_SETTINGS.allowHttp, flag, 'true or false'),
      allowPrivate: read('WEBHOOK_ALLOW_PRIVATE', DEFAULT_WEBHOOK_SETTINGS.allowPrivate, flag, 'true or false'),
      timeoutMs: read('WEBHOOK_TIMEOUT_MS', DEFAULT_WEBHOOK_SETTINGS.timeoutMs, integer(100, 120_000), 'milliseconds, 100..120000'),
      retrySchedule: read('WEBHOOK_RETRY_SCHEDULE', DEFAULT_WEBHOOK_SETTINGS.retrySchedule, parseSchedule, 'a comma-separated list of up to 50 durations (5s,5m,30m,2h), or none for no retries'),
      disableAfterFailures: read('WEBHOOK_DISABLE_AFTER', DEFAULT_WEBHOOK_SETTINGS.disableAfterFailures, integer(1, 1_000_000), 'an integer 1..1000000'),
      retentionMs: read('WEBHOOK_RETENTION', DEFAULT_WEBHOOK_SETTINGS.retentionMs, duration(MINUTE, 3650 * DAY), 'a duration from 1m to 3650d: milliseconds, or a number with ms, s, m, h or d (30d)'),
    },
  };
  if (problems.length > 0) {
    throw new AppError('validation', 'BAD_CONFIG', `invalid configuration:\n  ${problems.join('\n  ')}`, { details: { problems } });
  }
  return Object.freeze(config);
}
