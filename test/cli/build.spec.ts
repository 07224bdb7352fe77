import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnCli } from './cli.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const testOnly = /\.spec\.ts$|(^|\/)spec-[^/]*\.ts$/;
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

describe('bin/orderflow.js runs the build, never one older than the sources', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A copy of bin/ beside a small src/ (sources 2 h old) and, if asked, a build stamped 1 h ago. */
  function project({ built }: { built: boolean }) {
    const root = mkdtempSync(join(tmpdir(), 'orderflow-build-'));
    dirs.push(root);
    const write = (path: string, text: string, at?: Date) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
      if (at) utimesSync(join(root, path), at, at);
    };
    write('package.json', '{ "type": "module" }');
    mkdirSync(join(root, 'bin'));
    for (const file of ['orderflow.js', 'build-state.js']) copyFileSync(join(repo, 'bin', file), join(root, 'bin', file));
    for (const path of ['tsconfig.json', 'tsconfig.build.json', 'src/cli/index.ts', 'src/kernel/ids.ts', 'src/kernel/ids.unit.spec.ts', 'src/kernel/spec-fixtures.ts']) write(path, '', hoursAgo(2));
    for (const folder of ['src/cli', 'src/kernel', 'src']) utimesSync(join(root, folder), hoursAgo(2), hoursAgo(2));
    if (built) {
      write('dist/cli/index.js', "process.stdout.write(`ran ${process.argv.slice(2).join(' ')}`);\n");
      write('dist/.build-stamp', '', hoursAgo(1));
    }
    const run = (...args: string[]) => spawnSync(process.execPath, [join(root, 'bin', 'orderflow.js'), ...args], { encoding: 'utf8' });
    const touch = (path: string) => utimesSync(join(root, path), new Date(), new Date());
    return { root, run, touch };
  }

  const refusal = (result: ReturnType<ReturnType<typeof project>['run']>) => ({ code: result.status, stdout: result.stdout, lines: result.stderr.trimEnd().split('\n') });

  it('without a finished build, says in one line to run `npm run build`', () => {
    const { root, run } = project({ built: false });
    expect(refusal(run('start'))).toEqual({ code: 1, stdout: '', lines: ['orderflow: the server is not built (no finished build in dist/): run `npm run build`'] });
    // tsc wrote dist/ but the build did not finish (a type error): no stamp, not run either.
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'index.js'), 'process.stdout.write("ran");\n');
    expect(refusal(run('start')).lines).toEqual(['orderflow: the server is not built (no finished build in dist/): run `npm run build`']);
  });

  it('runs the build with the arguments while no source changed after it; a spec or a spec helper changed does not count', () => {
    const { run, touch } = project({ built: true });
    expect(run('events', '--limit', '1')).toMatchObject({ status: 0, stdout: 'ran events --limit 1', stderr: '' });
    touch('src/kernel/ids.unit.spec.ts');
    touch('src/kernel/spec-fixtures.ts');
    expect(run('help')).toMatchObject({ status: 0, stdout: 'ran help' });
  });

  it.each([
    ['a source changed', (p: ReturnType<typeof project>) => p.touch('src/kernel/ids.ts'), 'src/kernel/ids.ts'],
    ['a source removed', (p: ReturnType<typeof project>) => rmSync(join(p.root, 'src/kernel/ids.ts')), 'src/kernel'],
    ['a source added', (p: ReturnType<typeof project>) => writeFileSync(join(p.root, 'src/cli/new-command.ts'), ''), 'src/cli'],
    ['the build configuration changed', (p: ReturnType<typeof project>) => p.touch('tsconfig.build.json'), 'tsconfig.build.json'],
  ])('refuses the build once %s, naming it', (_, change, named) => {
    const p = project({ built: true });
    change(p);
    expect(refusal(p.run('start'))).toEqual({ code: 1, stdout: '', lines: [`orderflow: the build in dist/ is older than ${named}: run \`npm run build\``] });
  });

  it('the build the tests run holds every source of src/ compiled, and no spec or spec helper', () => {
    const sources = readdirSync(join(repo, 'src'), { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('.ts'));
    const compiled = readdirSync(join(repo, 'dist'), { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('.js'));
    expect(sources.filter((p) => testOnly.test(p)).length).toBeGreaterThan(0);
    expect(compiled.sort()).toEqual(sources.filter((p) => !testOnly.test(p)).map((p) => p.replace(/\.ts$/, '.js')).sort());
    expect(existsSync(join(repo, 'dist', '.build-stamp'))).toBe(true);
  });
});

describe('orderflow start runs compiled JavaScript', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-no-compiler-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('loads dist/*.js and no TypeScript compiler (typescript, tsx, esbuild) nor any .ts file', async () => {
    // Records every module the server process loads: ESM through a resolve hook, CommonJS through Module._load.
    const loaded = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(loaded)}, resolved.url + '\\n');
  return resolved;
}
`,
    );
    const trace = join(dir, 'trace.mjs');
    writeFileSync(
      trace,
      `import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try { appendFileSync(${JSON.stringify(loaded)}, 'cjs:' + Module._resolveFilename(request, parent, isMain) + '\\n'); } catch {}
  return load.apply(this, arguments);
};
`,
    );
    const server = spawnCli(['start'], { DATABASE_URL: `sqlite:${join(dir, 'data', 'orderflow.db')}`, PORT: '0', LOG_LEVEL: 'info', NODE_OPTIONS: `--import=${pathToFileURL(trace).href}` });
    try {
      await server.waitFor(/"msg":"orderflow started"/);
      await server.waitFor(/orderflow is running at/);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const modules = readFileSync(loaded, 'utf8').split('\n').filter(Boolean);
    const ours = modules.filter((m) => m.includes(repo) && !m.includes('/node_modules/'));
    expect(ours).toContain(pathToFileURL(join(repo, 'dist', 'main.js')).href);
    expect(ours).toContain(pathToFileURL(join(repo, 'dist', 'http', 'app.js')).href);
    expect(ours.filter((m) => !/\/(dist|bin)\/[^\n]*\.js$|\/web\//.test(m))).toEqual([]);
    expect(modules.filter((m) => /\.[cm]?ts$|\/node_modules\/(typescript|tsx|esbuild|@esbuild)\//.test(m))).toEqual([]);
  });
});
