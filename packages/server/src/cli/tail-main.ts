import { Command } from 'commander';
import { registerTailCommand } from './tail.js';

// The entry bin/botpulse.mjs runs for `botpulse tail`: only the tail command, so a log shipper
// beside a bot loads none of the server (Fastify, the stores, the dashboard) and stays small.
const program = new Command().name('botpulse').showHelpAfterError();
registerTailCommand(program);

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`botpulse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
