// npm run chaos -- --mode embedded|distributed --seed <n> --minutes <m> [--rate <ops/s>] [--handler-fault-rate <0..1>] [--keep] [--dir <folder>]
import { parseArgs } from 'node:util';
import { runCampaign, type Mode } from './campaign.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'embedded' },
    seed: { type: 'string' },
    minutes: { type: 'string', default: '2' },
    rate: { type: 'string' },
    'handler-fault-rate': { type: 'string' },
    keep: { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});
if (values.mode !== 'embedded' && values.mode !== 'distributed') throw new Error(`--mode must be embedded or distributed, not ${values.mode}`);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const result = await runCampaign({
  mode: values.mode as Mode,
  seed,
  minutes: Number(values.minutes),
  ...(values.rate ? { rate: Number(values.rate) } : {}),
  ...(values['handler-fault-rate'] ? { handlerFaultRate: Number(values['handler-fault-rate']) } : {}),
  ...(values.dir ? { root: values.dir } : {}),
  keep: values.keep,
});
process.exit(result.ok ? 0 : 1);
