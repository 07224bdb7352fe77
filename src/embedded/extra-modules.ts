import type { EngineModule } from '../platform/engine.js';

/** The `extraModules` export of the module at `url`: engine modules a test runs beside the business ones, in both threads. */
export async function loadExtraModules(url: string): Promise<EngineModule[]> {
  const loaded = (await import(url)) as { extraModules?: EngineModule[] };
  if (!Array.isArray(loaded.extraModules)) throw new Error(`${url} exports no extraModules list`);
  return loaded.extraModules;
}
