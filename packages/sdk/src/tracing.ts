// Spans and transactions: `trace(op, fn)` and the per-update transaction of the bot plugins.
// A root span is a Sentry `transaction`; children are collected into its `spans` list and the
// whole tree is sent once when the root ends (only if the root was sampled).
import { randomUUID } from 'node:crypto';

/** Span status values Sentry understands (subset). */
export type SpanStatus = 'ok' | 'internal_error' | 'deadline_exceeded' | 'resource_exhausted' | 'unavailable' | 'cancelled' | 'unknown_error';

/** The JSON shape of one child span inside a transaction. */
export interface SpanJson {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  op: string;
  description?: string;
  start_timestamp: number;
  timestamp: number;
  status: SpanStatus;
  data?: Record<string, unknown>;
}

const MAX_SPANS_PER_TRANSACTION = 1000;

/**
 * 32 hex characters (a Sentry event id / trace id).
 * @example uuid32() // '109fc0f901794d5fa376b9f752fe0076'
 */
export function uuid32(): string {
  // randomUUID draws from a cached entropy pool: much cheaper than randomBytes per call.
  const u = randomUUID();
  return u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24);
}

function spanId(): string {
  return uuid32().slice(0, 16);
}

/**
 * One timed operation. Create roots with `Span.root` and children with `span.child`; call `end()`.
 * @example
 * const span = Span.root('db.query', 'load user', true, (tx) => send(tx));
 * span.end('ok');
 */
export class Span {
  private id: string | undefined;
  private trace: string | undefined;
  readonly startTimestamp = Date.now() / 1000;
  endTimestamp: number | undefined;
  status: SpanStatus = 'ok';
  private attributes: Record<string, unknown> | undefined;
  /** Children of a root, in the order they ended (made on first use: most roots are unsampled). */
  private finished: SpanJson[] | undefined;
  private droppedSpans = 0;

  private constructor(
    readonly op: string,
    public description: string | undefined,
    traceId: string | undefined,
    readonly parent: Span | undefined,
    readonly sampled: boolean,
    private readonly onRootEnd: ((root: Span) => void) | undefined,
  ) {
    this.trace = traceId;
  }

  /** Ids are made on first use: most spans of an unsampled trace never need one. */
  get spanId(): string {
    this.id ??= spanId();
    return this.id;
  }

  get traceId(): string {
    if (this.parent) return this.parent.traceId;
    this.trace ??= uuid32();
    return this.trace;
  }

  /** A new trace. `onEnd` receives the root once it ends, if sampled. */
  static root(op: string, description: string | undefined, sampled: boolean, onEnd: (root: Span) => void): Span {
    return new Span(op, description, undefined, undefined, sampled, onEnd);
  }

  get root(): Span {
    return this.parent ? this.parent.root : this;
  }

  get isRoot(): boolean {
    return this.parent === undefined;
  }

  child(op: string, description?: string): Span {
    return new Span(op, description, undefined, this, this.sampled, undefined);
  }

  /** Data attached to the span (`span.data` / `contexts.trace.data`). */
  get data(): Record<string, unknown> {
    this.attributes ??= {};
    return this.attributes;
  }

  setData(key: string, value: unknown): this {
    this.data[key] = value;
    return this;
  }

  /** Ends the span; ending twice is ignored. */
  end(status?: SpanStatus): void {
    if (this.endTimestamp !== undefined) return;
    this.endTimestamp = Date.now() / 1000;
    if (status) this.status = status;
    if (!this.sampled) return;
    if (this.parent) this.root.collect(this.toJson());
    else this.onRootEnd?.(this);
  }

  /** The children that ended, and how many were dropped beyond the cap. */
  childSpans(): { spans: SpanJson[]; dropped: number } {
    return { spans: [...(this.finished ?? [])], dropped: this.droppedSpans };
  }

  toJson(): SpanJson {
    const json: SpanJson = {
      trace_id: this.traceId,
      span_id: this.spanId,
      op: this.op,
      start_timestamp: this.startTimestamp,
      timestamp: this.endTimestamp ?? Date.now() / 1000,
      status: this.status,
    };
    if (this.parent) json.parent_span_id = this.parent.spanId;
    if (this.description !== undefined) json.description = this.description;
    if (this.attributes && Object.keys(this.attributes).length > 0) json.data = this.attributes;
    return json;
  }

  /** `contexts.trace` of events captured while this span is current. */
  traceContext(): Record<string, unknown> {
    const context: Record<string, unknown> = { trace_id: this.traceId, span_id: this.spanId, op: this.op };
    if (this.parent) context['parent_span_id'] = this.parent.spanId;
    return context;
  }

  private collect(span: SpanJson): void {
    this.finished ??= [];
    if (this.finished.length >= MAX_SPANS_PER_TRANSACTION) this.droppedSpans += 1;
    else this.finished.push(span);
  }
}
