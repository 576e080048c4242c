/**
 * The background loops (the alert engine and outbox, the GitHub worker, the upstream forwarder)
 * share one shape: run a turn, sleep until the next (a kick cuts the sleep short), stop on request
 * after the turn in progress; the engine and the forwarder run theirs only while they hold a
 * database lease, renewed as they go and released when they stop. TurnLoop is the loop, HeldLease
 * the lease; what a turn does stays with each of them.
 */

export interface TurnLoopOptions {
  /** One turn. Resolves with how long to sleep before the next (ms), or nothing for `waitMs()`. */
  turn: () => Promise<number | void>;
  /** A turn threw: say so (log, count). The loop goes on after `waitMs()`. */
  failed: (err: unknown) => void;
  /** The sleep after a turn that named none or failed (ms). If it throws: reported, 1 s. */
  waitMs: () => number | Promise<number>;
  /** The sleep does not keep the process alive (a loop that must not hold up an exit). */
  unref?: boolean;
}

/** The pause after a turn when `waitMs()` itself failed. */
const PAUSE_WHEN_WAIT_FAILS_MS = 1_000;

export class TurnLoop {
  private running: Promise<void> | null = null;
  private stopped = true;
  private wake: (() => void) | null = null;
  /** A kick that came while a turn was running: the next sleep returns at once (no lost wake-up). */
  private kicked = false;

  constructor(private readonly options: TurnLoopOptions) {}

  /** Stop was asked for: a long turn checks this between steps and ends early. */
  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.running = this.loop();
  }

  /** Resolves when the turn in progress (if any) has ended; no turn starts after it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }

  /** Work may be waiting: run the next turn now rather than after the sleep. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.kicked = false;
      let wait: number | void = undefined;
      try {
        wait = await this.options.turn();
      } catch (err) {
        this.options.failed(err);
      }
      if (this.stopped) break;
      await this.sleep(wait ?? (await this.pauseAfterTurn()));
    }
  }

  /**
   * `waitMs()` may read the database (the outbox asks when the next alert is due): if it throws, the
   * loop reports it and pauses for a fixed second instead of ending without a trace.
   */
  private async pauseAfterTurn(): Promise<number> {
    try {
      return await this.options.waitMs();
    } catch (err) {
      this.options.failed(err);
      return PAUSE_WHEN_WAIT_FAILS_MS;
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.kicked || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      if (this.options.unref) timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** Where leases are kept (AlertStore's lease table, on either database). */
export interface LeaseTable {
  /** Takes or renews `name` for `holder` until now + ttlMs; false while another holder has it. */
  lease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

export interface HeldLeaseOptions {
  table: LeaseTable;
  name: string;
  holder: string;
  /** A holder that died without releasing is replaced after this long. */
  ttlMs: number;
  now: () => number;
  /** This process gained (true) or lost (false) the lease. */
  changed: (held: boolean) => void;
}

/** A lease that one of several processes holds while it does a job only one may do at a time. */
export class HeldLease {
  private holding = false;
  private renewedAt = 0;

  constructor(private readonly options: HeldLeaseOptions) {}

  /** This process held the lease at its last `hold()`. */
  get held(): boolean {
    return this.holding;
  }

  /**
   * Takes or renews the lease; false while another process holds it. A renewal is a write, so it
   * is done at most five times per lease period: in between, the lease held is taken as still held.
   */
  async hold(): Promise<boolean> {
    const { table, name, holder, ttlMs, now: clock, changed } = this.options;
    const now = clock();
    if (this.holding && now - this.renewedAt < ttlMs / 5) return true;
    const held = await table.lease(name, holder, now, ttlMs);
    if (held) this.renewedAt = now;
    if (held !== this.holding) changed(held);
    this.holding = held;
    return held;
  }

  /** Hands the lease over (if held), so another process takes over now rather than when it expires. */
  async release(failed: (err: unknown) => void): Promise<void> {
    if (!this.holding) return;
    await this.options.table.releaseLease(this.options.name, this.options.holder).catch(failed);
    this.holding = false;
  }
}
