import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const script = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');

describe('.ci/run', () => {
  it('starts only the services the suites use (PostgreSQL, NATS) and installs Chromium for the console tests', () => {
    const started = [...script.matchAll(/^ensure (\S+) (\d+) /gm)].map((m) => `${m[1]}:${m[2]}`);
    expect(started).toEqual(['PostgreSQL:5432', 'NATS:4222']);
    expect(script).not.toMatch(/redis-server|rabbitmq-server|mariadbd/);
    expect(script).toMatch(/apt-get install -y chromium/);
  });
});
