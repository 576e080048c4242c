import { parseDsn } from '@botpulse/protocol';
import type { Command } from 'commander';
import { defaultStatePath } from '../tail/state.js';
import { maskedDsn, TailRun } from '../tail/tail.js';

export interface TailCommandOptions {
  dsn?: string;
  state?: string;
  fromEnd?: boolean;
  status?: string | boolean;
  bufferLines?: string;
  retryMax?: string;
  flushTimeout?: string;
}

/**
 * Registers `botpulse tail` on a program: the full CLI (main.ts) and the light entry the bin runs
 * for `botpulse tail` alone (tail-main.ts, which loads none of the server).
 */
export function registerTailCommand(program: Command): void {
  program
    .command('tail <file>')
    .description("follow a log file like `tail -F` (or standard input: `-`) and ship its lines to the project's logs endpoint")
    .option('--dsn <dsn>', 'the project DSN (default: BOTPULSE_DSN)')
    .option('--state <file>', 'where the offsets are kept (default: BOTPULSE_TAIL_STATE, else $XDG_STATE_HOME/botpulse/tail-<hash>.json)')
    .option('--from-end', 'without a saved offset, skip what the file already holds (default: read it from the beginning)')
    .option('--status [seconds]', 'print a status line on stderr every so often (default 10 s)')
    .option('--buffer-lines <n>', 'lines held in memory while the server is slow or away', '10000')
    .option('--retry-max <seconds>', 'longest wait between retries', '30')
    .option('--flush-timeout <seconds>', 'on SIGINT/SIGTERM, how long to keep sending what is buffered', '10')
    .addHelpText('after', '\nExamples:\n  botpulse tail /var/log/bot.log --status\n  docker compose logs -f --tail 0 bot | botpulse tail -\nSee docs/logs-tail.md.')
    .action(tailCommand);
}

/**
 * `botpulse tail FILE|-`: ships a log file (followed like `tail -F`) or standard input to the
 * project's logs endpoint. Runs until SIGINT/SIGTERM (or the end of standard input), then sends
 * what is buffered, saves the offset and prints a summary on stderr.
 */
export async function tailCommand(source: string, opts: TailCommandOptions): Promise<void> {
  const dsnText = opts.dsn ?? process.env.BOTPULSE_DSN;
  if (!dsnText) throw new Error('no DSN: pass --dsn or set BOTPULSE_DSN (see `botpulse project list`)');
  const dsn = parseDsn(dsnText);
  const print = (line: string) => process.stderr.write(line + '\n');
  const isStdin = source === '-';
  const statePath = isStdin ? undefined : (opts.state ?? process.env.BOTPULSE_TAIL_STATE ?? defaultStatePath(source));
  const run = new TailRun({
    dsn,
    source,
    statePath,
    fromEnd: opts.fromEnd,
    statusEveryMs: statusInterval(opts.status),
    maxBufferLines: positive(opts.bufferLines, '--buffer-lines'),
    retryMaxMs: seconds(opts.retryMax, '--retry-max'),
    print,
  });
  print(`botpulse tail: ${isStdin ? 'standard input' : source} → ${maskedDsn(dsn)}${statePath ? ` (state: ${statePath})` : ''}`);
  const flushMs = seconds(opts.flushTimeout, '--flush-timeout') ?? 10_000;
  const onSignal = () => run.stop(flushMs);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary = await run.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const unsent = summary.unsent > 0 ? `, ${summary.unsent} unsent${isStdin ? ' (lost)' : ' (read again next time)'}` : '';
  print(`botpulse tail: done: read ${summary.read}, sent ${summary.sent} (${summary.duplicates} duplicates), dropped ${summary.dropped}${unsent}`);
}

function statusInterval(value: string | boolean | undefined): number {
  if (value === undefined || value === false) return 0;
  if (value === true) return 10_000;
  return seconds(value, '--status')!;
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} takes a positive number of seconds, got "${value}"`);
  return Math.round(n * 1000);
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive whole number, got "${value}"`);
  return n;
}
