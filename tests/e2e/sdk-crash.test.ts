// The crash that kills the bot reaches Botpulse (issue 10): the docs' quick starts as written (no
// bot.catch, no process handlers of the bot's own), run as child processes with the BUILT SDK
// against the fake Telegram and a real Botpulse. Each way a bot dies: the process ends as Node
// would have ended it (exit code 1), and the event is in Botpulse, read back through its API,
// exactly once, level fatal, mechanism.handled false, with the update's context when there was one.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FakeTelegram } from '../../packages/fake-telegram/src/index.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support/server.js';
import { eventsFromApi, eventually, monitorsFromApi, newDiskQueueDir, startBot } from './sdk-support/bot-process.js';

const ALICE = { id: 737373, first_name: 'Alice', username: 'alice_q', language_code: 'en' };

describe('crashes of the quick-start bots reach Botpulse', () => {
  let tg: FakeTelegram;
  let server: TestServer;

  before(async () => {
    tg = await FakeTelegram.start();
    server = await startTestServer();
  });
  after(async () => {
    await tg.stop();
    await server.close();
  });

  /** Events whose thrown exception's message matches, from the API. */
  async function eventsMatching(pattern: RegExp): Promise<any[]> {
    return (await eventsFromApi(server)).filter((e) => pattern.test(thrown(e)?.value ?? ''));
  }
  const thrown = (event: any) => event.payload?.exception?.values?.at(-1);

  function assertFatalUnhandled(event: any, mechanism: RegExp): void {
    assert.equal(event.payload.level, 'fatal');
    const exception = thrown(event);
    assert.equal(exception.mechanism.handled, false, 'marked unhandled');
    assert.match(exception.mechanism.type, mechanism);
  }

  function assertUpdateContext(event: any, updateId: number): void {
    const telegram = event.payload.contexts.telegram;
    assert.equal(telegram.update_id, updateId);
    assert.equal(telegram.update_type, 'message');
    assert.equal(telegram.chat_id, ALICE.id);
    assert.equal(telegram.user_id, ALICE.id);
    assert.equal(telegram.username, ALICE.username);
    assert.equal(event.payload.user.id, String(ALICE.id));
  }

  async function pollingBot(scenario: string, env: Record<string, string> = {}) {
    const { token } = tg.createBot({ username: `${scenario.replace(/\W/g, '_')}_bot` });
    if (env['REPORT_CHAT_ID']) tg.loseChat(token, Number(env['REPORT_CHAT_ID'])); // sendMessage there: 400 chat not found
    const run = startBot({ scenario, token, tg, server, env });
    await tg.waitFor(() => tg.isPolling(token) || run.child.exitCode !== null, { what: `the ${scenario} bot to poll`, timeoutMs: 60_000 });
    assert.ok(tg.isPolling(token), `the bot polls (stderr: ${run.stderr()})`);
    return { token, run };
  }

  it('grammY quick start, a handler throws, no bot.catch: exit 1, one fatal unhandled event with the update context', async () => {
    const { token, run } = await pollingBot('grammy-throw');
    const { update } = tg.sendMessage(token, 'crash', { from: ALICE });
    const exit = await run.exited();
    assert.equal(exit.code, 1, `exit code 1 as Node gives an unhandled rejection (stderr: ${run.stderr()})`);
    assert.match(run.stderr(), /Error: order \d+ failed/, 'the error is printed as Node prints it');

    const [event, ...more] = await eventually(async () => {
      const found = await eventsMatching(/^order \d+ failed$/);
      return found.length ? found : undefined;
    }, 'the crash event in Botpulse');
    assert.equal(more.length, 0, 'exactly once: the middleware and the rejection handler saw the same error');
    assertFatalUnhandled(event, /^grammy\.middleware$/);
    assert.match(thrown(event).mechanism.data.fatal, /default error handler stopped polling/);
    assertUpdateContext(event, update.update_id);
    assert.equal(event.release, 'quickstart@1.0.0');
    assert.match(thrown(event).stacktrace.frames.at(-1).filename, /quickstart-bot\.mjs$/);
  });

  it('grammY quick start, a handler leaves a rejected promise behind: exit 1, one fatal event with the update context', async () => {
    const { token, run } = await pollingBot('grammy-reject');
    const { update } = tg.sendMessage(token, 'later', { from: ALICE });
    const exit = await run.exited();
    assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
    const [event, ...more] = await eventually(async () => {
      const found = await eventsMatching(/^invoice for chat \d+ could not be settled$/);
      return found.length ? found : undefined;
    }, 'the rejection event');
    assert.equal(more.length, 0);
    assertFatalUnhandled(event, /^onunhandledrejection$/);
    assertUpdateContext(event, update.update_id);
    assert.deepEqual(tg.chat(token, ALICE.id).texts, ['will do'], 'the handler itself had finished');
  });

  it('another instance takes getUpdates over (409 Conflict): grammY stops, and the dying instance reports which case it is', async () => {
    const { token, run } = await pollingBot('idle');
    // A second poller of the same token, as a second instance would be: Telegram ends the first's poll with a 409.
    const second = await fetch(`${tg.apiRoot}/bot${token}/getUpdates?timeout=1`);
    assert.equal(second.status, 200, 'the newer poller is served');
    const exit = await run.exited();
    assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
    const [event, ...more] = await eventually(async () => {
      const found = await eventsMatching(/409: Conflict: terminated by other getUpdates request/);
      return found.length ? found : undefined;
    }, 'the conflict event');
    assert.equal(more.length, 0);
    // Reported although a short 409 streak is noise: it ended this instance (issue 10's rule).
    assertFatalUnhandled(event, /^onunhandledrejection$/);
    // Which 409 it was, readable without the stack: another poller, not a webhook left set.
    const api = event.payload.contexts.telegram_api;
    assert.deepEqual({ method: api.method, error_code: api.error_code }, { method: 'getUpdates', error_code: 409 });
    assert.match(api.description, /terminated by other getUpdates request/);
  });

  it('a crash at start-up: a token Telegram refuses (getMe 401) ends the process with one fatal event', async () => {
    const run = startBot({ scenario: 'grammy-startup', token: '4242:AAbadbadbadbadbadbadbadbadbadbadbad', tg, server });
    const exit = await run.exited();
    assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
    const [event, ...more] = await eventually(async () => {
      const found = (await eventsFromApi(server)).filter((e) => /401/.test(thrown(e)?.value ?? '') && /getMe/.test(thrown(e)?.value ?? ''));
      return found.length ? found : undefined;
    }, 'the start-up crash event');
    assert.equal(more.length, 0);
    assertFatalUnhandled(event, /^onunhandledrejection$/);
    assert.ok(!JSON.stringify(event).includes('AAbadbadbadbad'), 'no token in the stored event');
  });

  it('a crash at start-up: module code throws after init(): exit 1, one fatal event', async () => {
    const run = startBot({ scenario: 'module-throw', token: tg.createBot().token, tg, server });
    const exit = await run.exited();
    assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
    const [event, ...more] = await eventually(async () => {
      const found = await eventsMatching(/^config file has no PAYMENT_URL$/);
      return found.length ? found : undefined;
    }, 'the module crash event');
    assert.equal(more.length, 0);
    assertFatalUnhandled(event, /^onuncaughtexception$/);
  });

  it('Telegraf quick start, a command throws, no bot.catch: the event is sent before the process exits, once, fatal', async () => {
    const { token, run } = await pollingBot('telegraf-throw');
    const { update } = tg.sendCommand(token, 'pay', { from: ALICE });
    const exit = await run.exited();
    assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
    const [event, ...more] = await eventually(async () => {
      const found = await eventsMatching(/^Telegraf payment failed for chat \d+$/);
      return found.length ? found : undefined;
    }, 'the Telegraf crash event');
    assert.equal(more.length, 0);
    assertFatalUnhandled(event, /^telegraf\.middleware$/);
    assertUpdateContext(event, update.update_id);
  });

  for (const [scenario, message, mechanism] of [
    ['timeout-throw', /^cache warm-up failed$/, /^onuncaughtexception$/],
    ['interval-send', /sendMessage.*chat not found/i, /^onunhandledrejection$/],
    ['fire-and-forget', /^rates provider returned no body$/, /^onunhandledrejection$/],
  ] as const) {
    it(`an error outside any handler (${scenario}) ends the process, reported once as fatal`, async () => {
      const { run } = await pollingBot(scenario, { REPORT_CHAT_ID: '999000111' });
      const exit = await run.exited();
      assert.equal(exit.code, 1, `stderr: ${run.stderr()}`);
      const [event, ...more] = await eventually(async () => {
        const found = await eventsMatching(message);
        return found.length ? found : undefined;
      }, `the ${scenario} event`);
      assert.equal(more.length, 0);
      assertFatalUnhandled(event, mechanism);
      assert.equal(event.payload.contexts.telegram, undefined, 'no update was involved');
    });
  }

  async function monitorDetail(id: number): Promise<any> {
    const res = await fetch(`${server.url}/api/v1/monitors/${id}`, { headers: { authorization: `Bearer ${server.token}` } });
    return res.json();
  }

  it('the polling loop that died sends an error check-in at once: the monitor is down now, not minutes later', async () => {
    const grammy = await eventually(async () => {
      server.botpulse.monitoring.service.kick();
      return (await monitorsFromApi(server)).find((m) => m.slug === 'quickstart-grammy' && m.status === 'down');
    }, 'the heartbeat monitor to be down');
    assert.match(grammy.downReason ?? grammy.lastReason ?? '', /polling ended on an error/);
    const { notifications } = await monitorDetail(grammy.id);
    assert.ok(notifications.some((n: any) => /down|failing/.test(n.kind)), `a down alert was raised (${JSON.stringify(notifications.map((n: any) => n.kind))})`);
  });

  it('bot.stop() with the process alive: a paused check-in at once, shown, not alerted', async () => {
    const { token, run } = await pollingBot('stop', { MONITOR_SLUG: 'quickstart-stopped' });
    try {
      tg.sendMessage(token, 'hello', { from: ALICE });
      await tg.waitForMessages(token, ALICE.id, 1);
      tg.sendMessage(token, 'stop', { from: ALICE });
      const monitor = await eventually(async () => {
        server.botpulse.monitoring.service.kick();
        return (await monitorsFromApi(server)).find((x) => x.slug === 'quickstart-stopped' && x.status === 'paused');
      }, 'the monitor to be paused');
      assert.match(monitor.lastReason ?? '', /stopped by the bot: the bot stopped polling/);
      assert.equal(run.child.exitCode, null, 'the process is still alive');
      const { notifications } = await monitorDetail(monitor.id);
      assert.deepEqual(notifications, [], 'no alert for a bot stopped on purpose');
    } finally {
      run.kill();
    }
  });

  it('captureException(e); process.exit(1): the event waits on disk and goes out at the next start', async () => {
    const diskQueueDir = newDiskQueueDir();
    const { token } = tg.createBot();
    const first = startBot({ scenario: 'capture-then-exit', token, tg, server, diskQueueDir });
    assert.equal((await first.exited()).code, 1);
    await server.digested();
    assert.equal((await eventsMatching(/^migration failed, exiting$/)).length, 0, 'nothing reached Botpulse before the exit');

    const next = startBot({ scenario: 'idle', token, tg, server, diskQueueDir });
    try {
      const [event, ...more] = await eventually(async () => {
        const found = await eventsMatching(/^migration failed, exiting$/);
        return found.length ? found : undefined;
      }, 'the kept event, sent by the next start');
      assert.equal(more.length, 0);
      assert.equal(event.payload.level, 'error');
    } finally {
      next.kill();
    }
  });

  it('Botpulse unreachable at crash time (it accepts, never answers): the process still exits, and the event is sent by the next start', async () => {
    // A server that takes the connection and never answers: only the shutdown bound ends the wait.
    const sockets: Socket[] = [];
    let firstConnectionAt = 0;
    const blackhole = createServer((socket) => {
      firstConnectionAt ||= Date.now();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as { port: number }).port;
    const deadDsn = server.dsn.replace(/:\d+\//, `:${port}/`);
    const diskQueueDir = newDiskQueueDir();
    try {
      const { token } = tg.createBot();
      const crashing = startBot({ scenario: 'timeout-throw', token, tg, server, diskQueueDir, env: { BOTPULSE_DSN: deadDsn } });
      const exit = await crashing.exited();
      const exitedAt = Date.now();
      assert.equal(exit.code, 1, `stderr: ${crashing.stderr()}`);
      assert.ok(sockets.length > 0, 'it did try to send');
      // Counted from the request, not from the spawn (a loaded machine starts a child slowly): the
      // 2 s shutdown bound ended it, not the SDK's 10 s request timeout.
      const held = exitedAt - firstConnectionAt;
      assert.ok(held < 9000, `exited ${held} ms after its request: the unanswered request did not hold it`);
    } finally {
      for (const socket of sockets) socket.destroy();
      blackhole.close();
    }
    const before = (await eventsMatching(/^cache warm-up failed$/)).length;
    const { token } = tg.createBot();
    const next = startBot({ scenario: 'idle', token, tg, server, diskQueueDir });
    try {
      const events = await eventually(async () => {
        const found = await eventsMatching(/^cache warm-up failed$/);
        return found.length > before ? found : undefined;
      }, 'the crash event, kept on disk and sent by the next start');
      assert.equal(events.length, before + 1);
      const kept = events.find((e) => e.payload.level === 'fatal' && thrown(e).mechanism.type === 'onuncaughtexception');
      assert.ok(kept, 'fatal, as captured');
    } finally {
      next.kill();
    }
  });
});
