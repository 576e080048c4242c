import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultTracesSampleRate, gitCommit, resolveDsn, resolveEnvironment, resolveRate, resolveRelease } from './config.js';

const SHA = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);

const repos: string[] = [];
after(() => {
  for (const dir of repos) rmSync(dir, { recursive: true, force: true });
});

function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'botpulse-git-'));
  repos.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('configuration', () => {
  it('takes the DSN from the option, BOTPULSE_DSN, then SENTRY_DSN; empty disables', () => {
    assert.equal(resolveDsn('http://a@h/1', { BOTPULSE_DSN: 'http://b@h/1' }), 'http://a@h/1');
    assert.equal(resolveDsn(undefined, { BOTPULSE_DSN: 'http://b@h/1', SENTRY_DSN: 'http://c@h/1' }), 'http://b@h/1');
    assert.equal(resolveDsn(undefined, { SENTRY_DSN: 'http://c@h/1' }), 'http://c@h/1');
    assert.equal(resolveDsn(undefined, { SENTRY_DSN: '  ' }), undefined);
    assert.equal(resolveDsn(null, { SENTRY_DSN: 'http://c@h/1' }), undefined);
  });

  it('takes the environment from SENTRY_ENVIRONMENT, ENVIRONMENT, NODE_ENV, else production', () => {
    assert.equal(resolveEnvironment(undefined, { SENTRY_ENVIRONMENT: 'staging', ENVIRONMENT: 'x' }), 'staging');
    assert.equal(resolveEnvironment(undefined, { ENVIRONMENT: 'development' }), 'development');
    assert.equal(resolveEnvironment(undefined, {}), 'production');
  });

  it('uses per-environment trace sample rates, overridable', () => {
    assert.equal(defaultTracesSampleRate('production'), 0.1);
    assert.equal(defaultTracesSampleRate('staging'), 0.5);
    assert.equal(defaultTracesSampleRate('development'), 1);
    assert.equal(resolveRate(undefined, '0.25', 0.1), 0.25);
    assert.equal(resolveRate(undefined, 'nonsense', 0.1), 0.1);
    assert.equal(resolveRate(3, undefined, 0.1), 1);
  });

  it('reads the release from SENTRY_RELEASE, else the git commit from .git files', () => {
    assert.equal(resolveRelease(undefined, { SENTRY_RELEASE: 'v1.2.3' }), 'v1.2.3');
    const detached = repo({ '.git/HEAD': `${SHA}\n` });
    assert.equal(gitCommit(detached), SHA);
    const loose = repo({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${OTHER}\n` });
    assert.equal(gitCommit(join(loose)), OTHER);
    const packed = repo({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': `# pack-refs\n${SHA} refs/heads/main\n` });
    mkdirSync(join(packed, 'src', 'deep'), { recursive: true });
    assert.equal(gitCommit(join(packed, 'src', 'deep')), SHA, 'found from a subdirectory');
    const worktree = repo({ 'main/.git/worktrees/wt/HEAD': 'ref: refs/heads/feature\n', 'main/.git/worktrees/wt/commondir': '../..\n', 'main/.git/refs/heads/feature': `${OTHER}\n` });
    writeFileSync(join(worktree, '.git'), `gitdir: ${join(worktree, 'main/.git/worktrees/wt')}\n`);
    assert.equal(gitCommit(worktree), OTHER);
  });
});
