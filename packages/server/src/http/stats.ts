import { BodyBudget } from '../ingest/body-budget.js';
import type { Intake } from '../ingest/intake.js';

/** Ingestion counters since start; `/health` shows them and `/metrics` exports them. */
export class IngestStats {
  /** `bodies`: the memory budget of request bodies in flight, with its gauges (unbounded unless given). */
  constructor(readonly bodies: BodyBudget = new BodyBudget(Number.POSITIVE_INFINITY)) {}

  readonly acceptedByKind: Record<string, number> = {};
  readonly rejectedByStatus: Record<string, number> = {};
  requests = 0;

  accepted(intake: Intake): void {
    this.requests += 1;
    for (const item of intake.items) this.acceptedByKind[item.kind] = (this.acceptedByKind[item.kind] ?? 0) + 1;
    for (const [kind, n] of Object.entries(intake.counts)) this.acceptedByKind[kind] = (this.acceptedByKind[kind] ?? 0) + n;
  }

  rejected(status: number): void {
    this.requests += 1;
    this.rejectedByStatus[status] = (this.rejectedByStatus[status] ?? 0) + 1;
  }
}
