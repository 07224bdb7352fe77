/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`) into what the report needs:
 * self time per function, self time per area (package, node internals, orderflow folder,
 * native code, GC, idle), and the time attributed to the nearest orderflow function on the
 * stack (which of orderflow's own functions the time was spent under).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled wall time of the main thread, ms. */
  totalMs: number;
  /** Whether only the samples of the load window were counted (else the whole process life). */
  windowed: boolean;
  /** Share of samples where the thread was idle (waiting for I/O or timers). */
  idlePercent: number;
  topFunctions: (TimeShare & { where: string; area: string })[];
  areas: TimeShare[];
  /** Self time of everything below the nearest orderflow (src/) function on the stack, by that function. */
  underOrderflowFunction: TimeShare[];
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function relativeUrl(url: string): string {
  let path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (path.startsWith(root)) path = path.slice(root.length);
  return path;
}

/** The file of src/ that compiled code comes from: the build in dist/ mirrors src/ file for file. */
function asSource(path: string): string {
  return path.startsWith('dist/') ? `src/${path.slice('dist/'.length).replace(/\.js$/, '.ts')}` : path;
}

function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The area a frame's own code belongs to; native frames (no url) are resolved by the caller. */
function areaOfUrl(url: string): string | undefined {
  if (!url) return undefined;
  const path = asSource(relativeUrl(url));
  const pkg = packageOf(path);
  if (pkg) return pkg;
  if (path.startsWith('node:')) {
    const parts = path.slice('node:'.length).split('/');
    return `node:${parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0]}`;
  }
  const src = /(?:^|\/)src\/(.+)$/.exec(path);
  if (src) {
    const parts = src[1]!.split('/');
    return `orderflow src/${parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0]!.replace(/\.ts$/, '')}`;
  }
  return path;
}

/**
 * `window`: CLOCK_MONOTONIC microseconds (`process.hrtime` in any process on the machine, the
 * clock V8 stamps samples with on Linux); only samples inside it are counted, so start-up and
 * shutdown stay out of the summary. Ignored when it does not overlap the profile.
 */
export function summariseProfile(file: string, window?: { fromUs: number; toUs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Self time per node: each sample lasts until the next one.
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  const windowed = window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] ?? 0;
    if (windowed && (at < window.fromUs || at > window.toUs)) continue;
    const us = timeDeltas[i + 1] ?? (profile.endTime - profile.startTime) / Math.max(1, samples.length);
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, us));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const areaMemo = new Map<number, string>();
  const areaOf = (id: number): string => {
    const cached = areaMemo.get(id);
    if (cached) return cached;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let area: string;
    if (SPECIAL.has(name)) area = name;
    else {
      const own = areaOfUrl(node.callFrame.url);
      if (own) area = own;
      else {
        // Native code (a C++ binding or a V8 builtin): name it by who called it.
        let up = parent.get(id);
        while (up !== undefined && !byId.get(up)!.callFrame.url) up = parent.get(up);
        const caller = up === undefined ? 'unknown' : (areaOfUrl(byId.get(up)!.callFrame.url) ?? 'unknown');
        area = `native, called from ${caller}`;
      }
    }
    areaMemo.set(id, area);
    return area;
  };
  const orderflowFrameOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const path = asSource(relativeUrl(frame.url));
      if (/(?:^|\/)src\/.+\.ts$/.test(path) && !path.includes('node_modules/')) return `${frame.functionName || '(anonymous)'} (${path.replace(/^.*?src\//, 'src/')})`;
    }
    const name = byId.get(id)!.callFrame.functionName;
    return SPECIAL.has(name) ? name : '(no orderflow frame on the stack: resumed after an await, or library and Node internals)';
  };

  const functions = new Map<string, { ms: number; where: string; area: string; name: string }>();
  const areas = new Map<string, number>();
  const under = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    // tsx-compiled sources report every function on line 1: name the file only.
    const where = frame.url ? `${relativeUrl(frame.url).replace(/^.*node_modules\//, '')}${frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : ''}` : '(native)';
    const area = areaOf(id);
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${where}@${area}`;
    const entry = functions.get(key) ?? { ms: 0, where, area, name };
    entry.ms += us / 1000;
    functions.set(key, entry);
    areas.set(area, (areas.get(area) ?? 0) + us / 1000);
    const owner = orderflowFrameOf(id);
    under.set(owner, (under.get(owner) ?? 0) + us / 1000);
  }

  const share = (ms: number) => Number(((100 * ms) / (totalUs / 1000)).toFixed(1));
  const sorted = <T extends { ms: number }>(items: T[]) => items.sort((a, b) => b.ms - a.ms);
  return {
    totalMs: Math.round(totalUs / 1000),
    windowed,
    idlePercent: share(areas.get('(idle)') ?? 0),
    topFunctions: sorted([...functions.values()])
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, ms: Math.round(f.ms), percent: share(f.ms) })),
    areas: sorted([...areas].map(([name, ms]) => ({ name, ms })))
      .slice(0, top)
      .map((a) => ({ name: a.name, ms: Math.round(a.ms), percent: share(a.ms) })),
    underOrderflowFunction: sorted([...under].map(([name, ms]) => ({ name, ms })))
      .slice(0, top)
      .map((a) => ({ name: a.name, ms: Math.round(a.ms), percent: share(a.ms) })),
  };
}
