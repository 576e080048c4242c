// `botpulse test-alert` as a user runs it: the built CLI, a fake Telegram, one good chat and one
// that blocked the bot.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ALERT_CHAT, startFakeTelegram } from './alerts-support/harness.js';
import type { FakeTelegram } from '../../packages/fake-telegram/src/index.js';

const run = promisify(execFile);
const CLI = new URL('../../packages/server/dist/cli/main.js', import.meta.url).pathname;

describe('botpulse test-alert', () => {
  let tg: FakeTelegram;
  let token: string;
  let dataDir: string;
  before(async () => {
    ({ tg, token } = await startFakeTelegram());
    dataDir = mkdtempSync(join(tmpdir(), 'botpulse-cli-alert-'));
  });
  after(async () => {
    await tg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends a test message to every chat and prints what each answered, failing on a blocked chat', async () => {
    tg.blockChat(token, -1009999);
    const env = {
      ...process.env,
      BOTPULSE_DATA_DIR: dataDir,
      BOTPULSE_TELEGRAM_TOKEN: token,
      BOTPULSE_TELEGRAM_API_ROOT: tg.apiRoot,
      ERROR_ALERT_CHAT_ID: `${ALERT_CHAT},-1009999`,
    };
    const result = await run(process.execPath, [CLI, 'test-alert'], { env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`telegram ${ALERT_CHAT} \\(default\\): ok, message \\d+`));
    assert.match(result.stdout, /telegram -1009999 \(default\): FAILED 403 Forbidden: bot was blocked by the user \(permanent/);
    assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'the token is never printed');
    const [message] = tg.chat(token, ALERT_CHAT).messages;
    assert.match(message!.text ?? '', /Botpulse test alert/);
  });
});
