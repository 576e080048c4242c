import type { LineTemplate, LogTemplate, NewLogLine } from '../store/logs.js';
import { TemplateMiner } from './templates.js';

export interface TemplaterOptions {
  /** Projects whose miner is kept; the least recently used project's is dropped (and re-seeded when it logs again). */
  maxProjects?: number;
  /** Templates per project's miner (TemplateMiner's bound). */
  maxTemplates?: number;
  /** The project's stored templates, most used first (LogStore.templates), to seed its miner. */
  load(projectId: number, limit: number): Promise<Pick<LogTemplate, 'template' | 'count'>[]>;
  /** The logs' clock (tests compress it): when a template was seen. */
  now?: () => number;
}

/**
 * Gives each received line its Drain template (docs/logs.md "Templates") before it is stored:
 * one TemplateMiner per project, in this process, seeded once from the project's stored
 * templates so a restart does not re-learn them (nor flag them as new). Mining is synchronous and
 * in memory (no database read per line); the store counts the templates once per batch.
 *
 * Processes sharing a PostgreSQL database each mine their own lines: a template's id is the hash
 * of its text, so they agree on templates they both reached; one generalised in one process
 * but not yet in another is counted under its successor (store/log-templates.ts).
 */
export class LogTemplater {
  private readonly miners = new Map<number, TemplateMiner>();
  private readonly maxProjects: number;
  private readonly maxTemplates: number;

  constructor(private readonly options: TemplaterOptions) {
    this.maxProjects = options.maxProjects ?? 200;
    this.maxTemplates = options.maxTemplates ?? 1000;
  }

  /** Seeds the miners of the lines' projects not seen yet by this process (one read per project). */
  async prepare(lines: readonly NewLogLine[]): Promise<void> {
    for (const projectId of new Set(lines.map((l) => l.projectId))) {
      if (this.miners.has(projectId)) continue;
      const miner = new TemplateMiner({ maxTemplates: this.maxTemplates });
      // Least used first, so the most used end up the most recently used in the miner's LRU.
      const stored = await this.options.load(projectId, this.maxTemplates);
      for (const t of stored.reverse()) miner.seed(t.template, t.count);
      this.keep(projectId, miner);
    }
  }

  /** Sets each line's `template` (its project's miner must be prepared; an unprepared one starts empty). */
  assign(lines: NewLogLine[]): void {
    const seenAt = this.options.now?.();
    // The miner looked up (and moved up the projects' LRU) once per project per batch, not per line.
    let projectId = -1;
    let miner: TemplateMiner | undefined;
    for (const line of lines) {
      if (line.projectId !== projectId || !miner) miner = this.minerFor((projectId = line.projectId));
      const match = miner.add(line.message);
      const template: LineTemplate = { id: match.templateId, text: match.template };
      if (match.previousId) template.previousIds = [match.previousId];
      if (seenAt !== undefined) template.seenAt = seenAt;
      line.template = template;
    }
  }

  private minerFor(projectId: number): TemplateMiner {
    const miner = this.miners.get(projectId) ?? new TemplateMiner({ maxTemplates: this.maxTemplates });
    this.keep(projectId, miner);
    return miner;
  }

  private keep(projectId: number, miner: TemplateMiner): void {
    this.miners.delete(projectId);
    this.miners.set(projectId, miner);
    if (this.miners.size > this.maxProjects) this.miners.delete(this.miners.keys().next().value!);
  }
}
