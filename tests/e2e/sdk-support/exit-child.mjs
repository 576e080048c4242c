// A bot process for the flushOnExit tests, run with plain node against the BUILT SDK
// (packages/sdk/dist, as a user would get it). It captures one error, prints its event id and then:
//   EXIT_MODE=signal  keeps running (as a bot does) until a signal ends it;
//   EXIT_MODE=end     has nothing left to do, so the event loop drains and Node exits.
// FLUSH_ON_EXIT=1 turns flushOnExit on; anything else leaves it off (the control case).
import { captureException, init } from '../../../packages/sdk/dist/index.js';

const mode = process.env.EXIT_MODE ?? 'end';
init({
  dsn: process.env.CHILD_DSN,
  environment: 'test',
  release: 'exit-child@1.0.0',
  flushOnExit: process.env.FLUSH_ON_EXIT === '1',
  env: {},
  // The test's own directory, never the shared <tmpdir>/botpulse-sdk/<hash of the DSN>.
  diskQueue: { dir: process.env.CHILD_DISK_QUEUE },
});
const eventId = captureException(new Error(`shutting down mid-send (${mode})`), { tags: { exit_mode: mode } });
process.stdout.write(`captured ${eventId}\n`);
if (mode === 'signal') setInterval(() => undefined, 60_000);
