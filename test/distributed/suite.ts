// The frame every suite of a split deployment on PostgreSQL + NATS shares: one such suite at a
// time on the machine, a scratch database and a JetStream stream of its own per test, and a
// teardown that stops whatever the test started, however far it got.
import { afterEach, beforeEach } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../support/databases.js';
import { createScratchStream, natsUrl, type ScratchStream } from '../support/transports.js';
import { keepingLogsOnFailure, oneSuiteAtATime, openInspector, startDeployment, type Deployment, type DeploymentOptions, type Inspector } from './support.js';

type Cleanup = () => unknown;

export interface SplitDeploymentSuite {
  /** This test's scratch database (the deployment may reach it another way: see `start`). */
  readonly databaseUrl: string;
  /** This test's JetStream stream. */
  readonly stream: string;
  /** The running deployment of this test, if it started one (kept after it stopped, for its logs). */
  readonly deployment: Deployment | undefined;
  /** Runs `orderflow migrate` and starts the processes on this test's database and stream; `options` override either. */
  start(options?: Partial<DeploymentOptions>): Promise<Deployment>;
  /** The test's own connection to its scratch database, straight to PostgreSQL. */
  inspect(): Promise<Inspector>;
  /** Runs the test's body; should it fail, the processes' logs are saved and named in the error. */
  run<T>(body: () => Promise<T>): Promise<T>;
  /** Undone at the end of the test, before the deployment stops (a lock the processes wait on, a stopped process). */
  beforeStop(cleanup: Cleanup): void;
  /** Undone at the end of the test, after the deployment stopped (a proxy it connects through, a receiver). */
  afterStop(cleanup: Cleanup): void;
}

/** Call inside `describe`; `name` names the folder a failed test's logs go to. */
export function splitDeploymentSuite(name: string): SplitDeploymentSuite {
  oneSuiteAtATime();
  let scratch: ScratchDatabase | undefined;
  let stream: ScratchStream | undefined;
  let deployment: Deployment | undefined;
  let inspector: Inspector | undefined;
  let beforeStop: Cleanup[] = [];
  let afterStop: Cleanup[] = [];
  beforeEach(async () => {
    scratch = await createScratchDatabase('postgres');
    stream = createScratchStream();
  });
  afterEach(async () => {
    // In the order the test registered them.
    for (const cleanup of beforeStop) await cleanup();
    await deployment?.stop();
    await inspector?.close();
    for (const cleanup of afterStop) await cleanup();
    await stream?.drop();
    await scratch?.drop();
    [deployment, inspector, stream, scratch, beforeStop, afterStop] = [undefined, undefined, undefined, undefined, [], []];
  }, 120_000);
  const current = () => {
    if (!scratch || !stream) throw new Error('a split deployment suite is used inside its tests only');
    return { scratch, stream };
  };
  return {
    get databaseUrl() {
      return current().scratch.url;
    },
    get stream() {
      return current().stream.stream;
    },
    get deployment() {
      return deployment;
    },
    async start(options = {}) {
      const { scratch, stream } = current();
      deployment = await startDeployment({ databaseUrl: scratch.url, natsUrl, stream: stream.stream, ...options });
      return deployment;
    },
    async inspect() {
      inspector ??= await openInspector(current().scratch.url);
      return inspector;
    },
    run: (body) => keepingLogsOnFailure(name, () => deployment, body),
    beforeStop: (cleanup) => void beforeStop.push(cleanup),
    afterStop: (cleanup) => void afterStop.push(cleanup),
  };
}
