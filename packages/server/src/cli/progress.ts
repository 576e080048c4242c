/**
 * Progress of long CLI work on standard error (standard output stays the result, for scripts):
 * at most a line a second, so a quick run prints only its start, and a long one shows it is moving.
 */
export function progressLine(what: string, out: NodeJS.WritableStream = process.stderr): { update(state: string): void; done(): void } {
  out.write(`botpulse: ${what}...\n`);
  let last = Date.now();
  let pending: string | null = null;
  return {
    update(state) {
      pending = state;
      if (Date.now() - last < 1000) return;
      last = Date.now();
      out.write(`botpulse: ${what}: ${state}\n`);
      pending = null;
    },
    done() {
      if (pending) out.write(`botpulse: ${what}: ${pending}\n`);
    },
  };
}
