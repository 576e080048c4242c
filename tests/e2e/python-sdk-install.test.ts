// The `botpulse` Python package installs as docs/python.md tells a user, offline: `python3 -m venv
// --system-site-packages V && V/bin/pip install --no-build-isolation ./packages/python` (issue 15).
// The other python-sdk-*.test.ts files install a wheel into venvs without pip, which is quicker.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { makeUserVenv, run, script, skip, type Venvs } from './python-support/python.js';

describe('botpulse for Python: the documented install (issue 15)', { skip }, () => {
  let venvs: Venvs;
  before(async () => {
    venvs = await makeUserVenv();
  });
  after(() => {
    if (venvs) rmSync(venvs.dir, { recursive: true, force: true });
  });

  it('installs offline with pip --no-build-isolation into a venv with system site packages, and runs there with Debian sentry-sdk', async () => {
    const { stdout } = await run(venvs.system, ['-c', 'import botpulse, sys; c = botpulse.init(dsn=False); print(botpulse.__file__); print(c.uses_sentry_sdk)'], { cwd: tmpdir() });
    const [file, sentry] = stdout.trim().split('\n');
    assert.ok(file!.startsWith(venvs.dir), `imported from the venv, not the checkout: ${file}`);
    assert.equal(sentry, 'True');
    const lines = await script(venvs.system, 'token_rules.py', {});
    assert.equal(lines.find((l) => l['case'] === 'production uses PROD')!['source'], 'TELEGRAM_BOT_TOKEN_PROD');
  });
});
