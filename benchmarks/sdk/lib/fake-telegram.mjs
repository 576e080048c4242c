// The fake Telegram in its own process (so its CPU does not count against the bot): prints
// {apiRoot, token} as one JSON line, exits when stdin closes.
import { FakeTelegram } from '../../../packages/fake-telegram/dist/index.js';

const tg = await FakeTelegram.start({ maxCallLog: 100 });
const { token } = tg.createBot({ username: 'bench_bot' });
process.stdout.write(`${JSON.stringify({ apiRoot: tg.apiRoot, token })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void tg.stop().then(() => process.exit(0)));
