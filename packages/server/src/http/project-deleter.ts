import type { Logger } from 'pino';
import { reportFailure } from '../lib/failures.js';
import type { Project } from '../store/model.js';
import type { Store } from '../store/store.js';

/** Rows removed per step: small enough that a step never holds the database for long. */
const CHUNK_ROWS = 2_000;
/** After a failed step (database busy or down), the next try waits this long. */
const RETRY_MS = 10_000;

/**
 * Removes deleted projects' data in the background, a chunk at a time, yielding between chunks so
 * ingestion and the dashboard keep answering. The mark (`deleting_at`) is in the database, so a
 * deletion cut short by a restart carries on at the next start (`resumeAll`).
 */
export class ProjectDeleter {
  private readonly running = new Set<number>();
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    private readonly logger: Pick<Logger, 'error' | 'warn' | 'info'>,
    /** Told when a project is marked or gone, so cached projects (ingestion's) are read again. */
    private readonly onChanged: () => void = () => undefined,
    private readonly retryMs = RETRY_MS,
  ) {}

  /** Marks the project (ingestion refuses it from now) and starts removing its data; null when there is none. */
  async delete(project: Project): Promise<Project | null> {
    const marked = await this.store.startProjectDeletion(project.id, Date.now());
    this.onChanged();
    if (marked) this.run(marked.id);
    return marked;
  }

  /** Whether this process is removing the project's data now. */
  isRunning(projectId: number): boolean {
    return this.running.has(projectId);
  }

  /** Carries on with every deletion a restart interrupted. */
  async resumeAll(): Promise<void> {
    for (const p of await this.store.listProjects()) if (p.deletingAt !== null) this.run(p.id);
  }

  /** Resolves when the project is gone (tests, the CLI). */
  async settled(projectId: number): Promise<void> {
    while (this.running.has(projectId)) await new Promise((r) => setTimeout(r, 20));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private run(projectId: number): void {
    if (this.running.has(projectId) || this.stopped) return;
    this.running.add(projectId);
    void this.loop(projectId);
  }

  private async loop(projectId: number): Promise<void> {
    let retrying = false;
    try {
      for (;;) {
        if (this.stopped) return;
        const step = await this.store.deleteProjectChunk(projectId, CHUNK_ROWS);
        if (step.done) {
          this.logger.info({ projectId }, 'deleted a project and all its data');
          this.onChanged();
          return;
        }
        await new Promise((r) => setImmediate(r)); // hand the event loop back between chunks
      }
    } catch (err) {
      reportFailure(this.logger, 'project_delete', err, `could not remove part of a deleted project's data; retrying in ${this.retryMs / 1000} s`, { projectId }, 'warn');
      if (this.stopped) return;
      retrying = true;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void this.loop(projectId);
      }, this.retryMs);
      timer.unref();
      this.timers.add(timer);
    } finally {
      if (!retrying) this.running.delete(projectId);
    }
  }
}
