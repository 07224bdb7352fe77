// Issue 16, acceptance 1: CI runs a short seeded fault campaign of each mode (chaos/campaign.ts,
// docs/reliability.md), once with a fixed seed and once with a new one, and fails on any broken
// invariant, printing the seed, the run's folder and the command line that replays it.
import { describe, expect, it } from 'vitest';
import { runCampaign, type Mode } from '../../chaos/campaign.js';
import { oneSuiteAtATime } from '../distributed/support.js';
import { natsServerInstalled } from '../support/nats-server.js';

/** Minutes of faults per campaign; two campaigns per mode. */
const minutes = Number(process.env.CHAOS_CI_MINUTES ?? 1);
const FIXED_SEED = 20261206;
/** A new seed each run (or CHAOS_SEED to repeat one), printed in the test's name. */
const newSeed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('seeded fault campaigns (npm run chaos)', () => {
  // Each starts up to 6 processes and a nats-server: never beside the distributed suites on 2 cores.
  oneSuiteAtATime();
  const modes: Mode[] = natsServerInstalled ? ['embedded', 'distributed'] : ['embedded'];
  for (const mode of modes) {
    for (const [which, seed] of [['fixed', FIXED_SEED], ['new', newSeed]] as const) {
      it(`${mode}, ${which} seed ${seed}: every invariant holds once the faults stop and the system settles`, async () => {
        const lines: string[] = [];
        const result = await runCampaign({ mode, seed, minutes, print: (line) => lines.push(line) });
        console.log(`[chaos ${mode} seed ${seed}] ${result.ok ? 'passed' : 'FAILED'}; replay: ${result.replay}\n${lines.join('\n')}`);
        expect(result.violations, `seed ${seed}; logs, schedule and figures in ${result.dir}; replay with: ${result.replay}`).toEqual([]);
      }, (minutes + 10) * 60_000);
    }
  }
});
