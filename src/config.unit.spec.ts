import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      trustProxy: false,
      databaseUrl: 'sqlite:./data/orderflow.db',
      natsUrl: undefined,
      natsStream: 'ORDERFLOW_EVENTS',
      natsSubjectPrefix: 'orderflow_events',
      natsPartitions: 8,
      modules: ['orders', 'inventory', 'payments', 'shipments', 'http', 'webhooks'],
      sagaTimeoutMs: 30000,
      returnWindowMs: 30 * 86_400_000,
      paymentSuccessRate: 0.9,
      paymentLatencyMs: 0,
      orderRateLimit: 600,
      sqliteSynchronous: 'FULL',
      logLevel: 'info',
      delivery: { maxRetries: 3, retryBaseMs: 200, batchSize: 256 },
      faults: undefined,
      idempotencyTtlMs: 24 * 3600 * 1000,
      inboxRetentionMs: 15 * 60 * 1000,
      natsStreamMaxAgeMs: 7 * 24 * 3600 * 1000,
      databaseTimeoutMs: 5000,
      databasePreparedStatements: true,
      webhooks: {
        allowHttp: false,
        allowPrivate: false,
        timeoutMs: 5000,
        retrySchedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        disableAfterFailures: 50,
        retentionMs: 30 * 24 * 3600 * 1000,
      },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the WEBHOOK_* settings and refuses bad ones', () => {
    const config = loadConfig({ WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_TIMEOUT_MS: '250', WEBHOOK_RETRY_SCHEDULE: '100ms, 2s,1m', WEBHOOK_DISABLE_AFTER: '3', WEBHOOK_RETENTION: '7d' });
    expect(config.webhooks).toEqual({ allowHttp: true, allowPrivate: true, timeoutMs: 250, retrySchedule: [100, 2000, 60_000], disableAfterFailures: 3, retentionMs: 7 * 86_400_000 });
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: 'none' }).webhooks.retrySchedule).toEqual([]);
    for (const [name, value] of [
      ['WEBHOOK_ALLOW_HTTP', 'maybe'],
      ['WEBHOOK_TIMEOUT_MS', '10'],
      ['WEBHOOK_RETRY_SCHEDULE', '5s,soon'],
      ['WEBHOOK_DISABLE_AFTER', '0'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), name).toThrowError(new RegExp(`${name}=`));
    }
  });

  it('reads TRUST_PROXY as a flag, a number of hops or a list of addresses, and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,loopback' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'loopback']);
    for (const value of ['proxy.example', '10.0.0.0/33', '::1/129', '300.1.1.1', '10.0.0.1/8/1', 'yes please']) {
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrowError(/TRUST_PROXY=/);
    }
  });

  it('turns tracing on with an OTLP endpoint, and takes an OTEL_TRACE_URL only with {traceId} in it', () => {
    expect(loadConfig({}).tracing).toBe(false);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toBe(true);
    expect(loadConfig({ OTEL_TRACE_URL: 'http://jaeger:16686/trace/{traceId}' }).traceUrl).toBe('http://jaeger:16686/trace/{traceId}');
    for (const value of ['http://jaeger:16686/trace/', 'jaeger/{traceId}']) expect(() => loadConfig({ OTEL_TRACE_URL: value }), value).toThrowError(/OTEL_TRACE_URL=.*\{traceId\}/);
  });

  it('reads the test-only ORDERFLOW_FAULTS and refuses a malformed one', () => {
    expect(loadConfig({ ORDERFLOW_FAULTS: '42:0.05' }).faults).toEqual({ seed: 42, rate: 0.05 });
    expect(loadConfig({ ORDERFLOW_FAULTS: '7:.5:1700000000000' }).faults).toEqual({ seed: 7, rate: 0.5, untilMs: 1_700_000_000_000 });
    for (const value of ['x:0.1', '1:2', '1', '1:0.1:soon']) expect(() => loadConfig({ ORDERFLOW_FAULTS: value }), value).toThrowError(/ORDERFLOW_FAULTS=/);
  });

  it('reads valid values', () => {
    const config = loadConfig({ PORT: '8080', DATABASE_URL: 'postgres://postgres@127.0.0.1/test', MODULES: 'orders,http', SQLITE_SYNCHRONOUS: 'normal', ORDER_RATE_LIMIT: '0' });
    expect(config).toMatchObject({ port: 8080, databaseUrl: 'postgres://postgres@127.0.0.1/test', modules: ['orders', 'http'], sqliteSynchronous: 'NORMAL', orderRateLimit: 0 });
  });

  it('reads DATABASE_PREPARED_STATEMENTS and refuses anything but true or false', () => {
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements).toBe(false);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'TRUE' }).databasePreparedStatements).toBe(true);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'off' })).toThrowError(/DATABASE_PREPARED_STATEMENTS="off" is invalid/);
  });

  it('reads the NATS settings and derives the subject prefix from the stream', () => {
    const config = loadConfig({ NATS_URL: 'nats://127.0.0.1:4222', NATS_STREAM: 'Shop-EU_1', NATS_PARTITIONS: '16' });
    expect(config).toMatchObject({ natsUrl: 'nats://127.0.0.1:4222', natsStream: 'Shop-EU_1', natsSubjectPrefix: 'shop-eu_1', natsPartitions: 16 });
  });

  it('refuses bad NATS settings, naming each variable', () => {
    for (const [name, value] of [['NATS_PARTITIONS', '0'], ['NATS_PARTITIONS', '2000'], ['NATS_PARTITIONS', 'eight'], ['NATS_STREAM', 'orders.events'], ['NATS_STREAM', 'a b'], ['NATS_URL', 'http://x']] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrowError(new RegExp(`${name}="${value.replace('.', '\\.')}" is invalid`));
    }
  });

  it('reads durations as milliseconds or with a unit', () => {
    expect(loadConfig({ IDEMPOTENCY_TTL: '90000', NATS_STREAM_MAX_AGE: '12h', DATABASE_TIMEOUT_MS: '2000' })).toMatchObject({ idempotencyTtlMs: 90_000, natsStreamMaxAgeMs: 12 * 3600_000, databaseTimeoutMs: 2000 });
    expect(loadConfig({ IDEMPOTENCY_TTL: '7d', NATS_STREAM_MAX_AGE: '0' })).toMatchObject({ idempotencyTtlMs: 7 * 86_400_000, natsStreamMaxAgeMs: 0 });
    expect(loadConfig({ IDEMPOTENCY_TTL: '15m', NATS_STREAM_MAX_AGE: '90s' })).toMatchObject({ idempotencyTtlMs: 15 * 60_000, natsStreamMaxAgeMs: 90_000 });
    for (const [name, value] of [['IDEMPOTENCY_TTL', '30s'], ['IDEMPOTENCY_TTL', '0'], ['IDEMPOTENCY_TTL', '1 day'], ['NATS_STREAM_MAX_AGE', '10s'], ['NATS_STREAM_MAX_AGE', '-1h'], ['DATABASE_TIMEOUT_MS', '5s'], ['DATABASE_TIMEOUT_MS', '50']] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrowError(new RegExp(`${name}="${value}" is invalid`));
    }
  });

  it('refuses bad values, naming each variable and what it accepts', () => {
    expect(() => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', MODULES: 'orders,billing', PAYMENT_SUCCESS_RATE: '1.5', JWT_SECRET: 'short' })).toThrowError(
      /PORT="eighty" is invalid: expected a port number[\s\S]*DATABASE_URL="mysql:\/\/x" is invalid: expected sqlite:<path> or postgres[\s\S]*MODULES="orders,billing"[\s\S]*JWT_SECRET=\(hidden\) is invalid: expected at least 32 characters[\s\S]*PAYMENT_SUCCESS_RATE="1.5"/,
    );
  });
});
