/**
 * Every time-based piece of the monitors reads time through a Clock, so tests compress minutes
 * into seconds (scaledClock) or step time by hand (manualClock) instead of sleeping.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Time that runs `factor` times faster than the wall clock from `origin` on (tests: 60 → a minute per second). */
export function scaledClock(factor: number, origin = Date.now()): Clock {
  const realStart = Date.now();
  return { now: () => Math.round(origin + (Date.now() - realStart) * factor) };
}

/** Time that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private at = Date.now()) {}
  now(): number {
    return this.at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
  set(ms: number): void {
    this.at = ms;
  }
}
