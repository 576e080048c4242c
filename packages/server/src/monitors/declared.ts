import type { Logger } from 'pino';
import { ConfigError } from '../lib/errors.js';
import type { Monitor, MonitorStore, NewMonitor, SettingsChange } from '../store/monitors.js';
import type { Store } from '../store/store.js';
import type { MonitorConfig } from './config.js';
import { changedSettings, toNewMonitor } from './definition.js';

export interface DeclaredResult {
  created: string[];
  updated: string[];
  removed: string[];
}

/**
 * Makes the stored monitors match BOTPULSE_MONITORS, at every start: declared monitors are
 * created or given the declared settings (keeping their state and history when only settings
 * change), a monitor of the same slug made by the API or a check-in is taken over, and `config`
 * monitors no longer declared are deleted. A project the file names must exist: a typo must not
 * quietly watch nothing, so it stops the start with the command that creates the project.
 */
export async function applyDeclaredMonitors(deps: { store: Store; monitors: MonitorStore; config: MonitorConfig; logger: Logger }, now: number): Promise<DeclaredResult> {
  const result: DeclaredResult = { created: [], updated: [], removed: [] };
  const keep = new Set<number>();
  for (const [slug, definitions] of Object.entries(deps.config.declared)) {
    const project = await deps.store.getProject(slug);
    if (!project) throw new ConfigError(`BOTPULSE_MONITORS names project "${slug}", which does not exist; create it with: npx botpulse project create "${slug}" --slug ${slug}`);
    for (const definition of definitions) {
      const wanted = toNewMonitor(definition, project.id, deps.config, 'config');
      const name = `${slug}/${definition.slug}`;
      const { monitor, change } = await upsert(deps.monitors, wanted, now);
      keep.add(monitor.id);
      if (change === 'created') result.created.push(name);
      if (change === 'updated') result.updated.push(name);
    }
  }
  for (const m of await deps.monitors.listMonitors()) {
    if (m.source !== 'config' || keep.has(m.id)) continue;
    await deps.monitors.deleteMonitor(m.id);
    result.removed.push(`${(await deps.store.getProject(String(m.projectId)))?.slug ?? m.projectId}/${m.slug}`);
  }
  if (result.created.length + result.updated.length + result.removed.length > 0) deps.logger.info(result, 'monitors declared in BOTPULSE_MONITORS applied');
  return result;
}

async function upsert(monitors: MonitorStore, wanted: NewMonitor, now: number): Promise<{ monitor: Monitor; change: 'created' | 'updated' | null }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await monitors.findMonitor(wanted.projectId, wanted.slug);
    if (existing && existing.kind !== wanted.kind) await monitors.deleteMonitor(existing.id);
    if (!existing || existing.kind !== wanted.kind) return { monitor: (await monitors.ensureMonitor(wanted, now)).monitor, change: 'created' };
    // The config file decides every setting of its monitors: nothing is "set by hand" any more.
    const set: SettingsChange['set'] = changedSettings(existing, wanted);
    if (existing.source !== 'config') set.source = 'config';
    if (Object.keys(set).length === 0 && existing.manualFields.length === 0) return { monitor: existing, change: null };
    const updated = await monitors.updateSettings(existing.id, () => ({ set, unmanual: existing.manualFields }), now);
    if (updated) return { monitor: updated, change: 'updated' };
  }
  throw new Error(`monitor ${wanted.slug}: changed concurrently too often while applying BOTPULSE_MONITORS`);
}
