import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { projectAcceptsKey, type NormalizedEvent } from './model.js';
import { encodePayload } from './payload.js';
import type { DigestedRow, IssueLifecycle, SpoolRow, Store } from './store.js';

/**
 * Management (issue 16): users with roles, API tokens with last use and revocation, DSN key
 * rotation with a grace period, and project deletion in chunks. SQLite and PostgreSQL run it.
 */
export function managementContract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>, lifecycle: IssueLifecycle): void {
  describe(`Management contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, cleanup } = await open()));
    after(async () => cleanup());

    it('keeps users with roles: add, list, change role, reset password (ending sessions), remove', async () => {
      await store.addUser('mgmt-ann', 'h1');
      await store.addUser('mgmt-bob', 'h2', 'viewer');
      assert.deepEqual(await store.getUser('mgmt-ann'), { login: 'mgmt-ann', passwordHash: 'h1', role: 'admin' }, 'role defaults to admin');
      assert.equal((await store.getUser('mgmt-bob'))!.role, 'viewer');
      await store.addUser('mgmt-bob', 'h3');
      assert.deepEqual(await store.getUser('mgmt-bob'), { login: 'mgmt-bob', passwordHash: 'h3', role: 'viewer' }, 'a password set without a role keeps the role');
      assert.equal(await store.setUserRole('mgmt-bob', 'member'), true);
      assert.equal(await store.setUserRole('mgmt-nobody', 'member'), false);
      const users = (await store.listUsers()).filter((u) => u.login.startsWith('mgmt-'));
      assert.deepEqual(users.map((u) => [u.login, u.role]), [['mgmt-ann', 'admin'], ['mgmt-bob', 'member']]);
      assert.ok(users.every((u) => u.createdAt > 0));

      const now = Date.now();
      await store.createSession({ idHash: 'mgmt-s1', login: 'mgmt-bob', csrfToken: 'c', createdAt: now, expiresAt: now + 60_000 });
      assert.equal(await store.setUserPassword('mgmt-bob', 'h4'), true);
      assert.equal((await store.getUser('mgmt-bob'))!.passwordHash, 'h4');
      assert.equal(await store.getSession('mgmt-s1'), null, 'a reset password ends the sessions');
      assert.equal(await store.setUserPassword('mgmt-nobody', 'h'), false);

      await store.createSession({ idHash: 'mgmt-s2', login: 'mgmt-bob', csrfToken: 'c', createdAt: now, expiresAt: now + 60_000 });
      assert.equal(await store.removeUser('mgmt-bob'), true);
      assert.equal(await store.getUser('mgmt-bob'), null);
      assert.equal(await store.getSession('mgmt-s2'), null, 'a removed user is logged out');
      assert.equal(await store.removeUser('mgmt-bob'), false);
    });

    it('keeps API tokens by hash with a role and their last use, and revokes them', async () => {
      const admin = await store.createApiToken('mgmt-ci');
      const viewer = await store.createApiToken('mgmt-grafana', 'viewer');
      let listed = (await store.listApiTokens()).filter((t) => t.label.startsWith('mgmt-'));
      assert.deepEqual(listed.map((t) => [t.label, t.role, t.lastUsedAt]), [['mgmt-ci', 'admin', null], ['mgmt-grafana', 'viewer', null]]);
      assert.ok(!JSON.stringify(listed).includes(admin.token), 'the list never carries a token');

      const found = await store.findApiToken(viewer.token, 1_000_000);
      assert.deepEqual({ ...found, createdAt: 0 }, { id: viewer.id, label: 'mgmt-grafana', role: 'viewer', createdAt: 0, lastUsedAt: 1_000_000 });
      await store.findApiToken(viewer.token, 1_030_000);
      listed = await store.listApiTokens();
      assert.equal(listed.find((t) => t.id === viewer.id)!.lastUsedAt, 1_000_000, 'written at most once a minute');
      await store.findApiToken(viewer.token, 1_070_000);
      assert.equal((await store.listApiTokens()).find((t) => t.id === viewer.id)!.lastUsedAt, 1_070_000);

      assert.equal(await store.findApiToken(admin.token + 'x', Date.now()), null);
      assert.equal(await store.revokeApiToken(admin.id), true);
      assert.equal(await store.verifyApiToken(admin.token), false);
      assert.equal(await store.findApiToken(admin.token, Date.now()), null);
      assert.equal(await store.revokeApiToken(admin.id), false);
      assert.equal(await store.revokeApiToken(Number.MAX_SAFE_INTEGER + 10), false);
    });

    it('rotates a DSN key: the old key is accepted until the grace period ends, then refused', async () => {
      const project = await store.createProject({ name: 'Mgmt Rotate', shortIdPrefix: 'ROT' });
      const oldKey = project.publicKey;
      assert.equal(project.previousPublicKey, null);
      const rotated = await store.rotateProjectKey(project.id, 3_600_000, 5_000_000);
      assert.notEqual(rotated.publicKey, oldKey);
      assert.match(rotated.publicKey, /^[0-9a-f]{32}$/);
      assert.equal(rotated.previousPublicKey, oldKey);
      assert.equal(rotated.previousKeyExpiresAt, 8_600_000);
      assert.deepEqual(await store.getProject(project.id), rotated);
      assert.equal(projectAcceptsKey(rotated, rotated.publicKey, 5_000_001), true);
      assert.equal(projectAcceptsKey(rotated, oldKey, 8_599_999), true, 'both keys during the grace period');
      assert.equal(projectAcceptsKey(rotated, oldKey, 8_600_000), false, 'the old key is refused after it');
      assert.equal(projectAcceptsKey(rotated, 'f'.repeat(32), 5_000_001), false);
    });

    it('deletes a project in chunks after marking it: keys refused at once, every row gone, other projects untouched', async () => {
      const doomed = await store.createProject({ name: 'Mgmt Doomed', shortIdPrefix: 'DOOM' });
      const kept = await store.createProject({ name: 'Mgmt Kept', shortIdPrefix: 'KEPT' });
      for (const p of [doomed, kept]) await ingest(store, lifecycle, p.id, 7);
      await store.setProjectSetting(doomed.id, 'alert_chat_id', '-100');
      const [first] = (await store.listIssues({ projectId: doomed.id, limit: 1 })).issues;
      await store.addIssueHistory(first!.id, { kind: 'user', name: 'ann' }, 'note', { text: 'looking' });
      await store.countItems(doomed.id, { session: 3 });
      await assert.rejects(store.deleteProjectChunk(doomed.id, 2), /not being deleted/, 'a stray call cannot wipe a live project');

      const marked = await store.startProjectDeletion(doomed.id, 42);
      assert.equal(marked!.deletingAt, 42);
      assert.equal(projectAcceptsKey(marked!, doomed.publicKey, 43), false, 'ingestion refused at once');
      assert.deepEqual(await store.projectDataLeft(doomed.id), { events: 7, issues: 7 });
      let chunks = 0;
      for (;;) {
        const step = await store.deleteProjectChunk(doomed.id, 3);
        chunks += 1;
        if (step.done) break;
        assert.ok(step.deleted > 0 && step.deleted <= 3);
      }
      assert.ok(chunks >= 6, `deleted in bounded chunks (${chunks})`);
      assert.equal(await store.getProject(doomed.id), null);
      assert.deepEqual(await store.projectDataLeft(doomed.id), { events: 0, issues: 0 });
      assert.deepEqual(await store.itemCounts(doomed.id), {});
      assert.deepEqual(await store.getProjectSettings(doomed.id), {});
      assert.deepEqual(await store.issueHistory(first!.id), [], 'the issues\' history too');
      assert.deepEqual(await store.projectDataLeft(kept.id), { events: 7, issues: 7 });
      assert.equal((await store.listIssues({ projectId: kept.id })).total, 7);
      assert.deepEqual(await store.deleteProjectChunk(doomed.id, 3), { done: true, deleted: 0 });

      await store.deleteProject(kept.id);
      assert.equal(await store.getProject(kept.id), null);
      assert.equal((await store.listIssues({ projectId: kept.id })).total, 0);
    });
  });
}

/** `n` events in `n` issues of the project, digested. */
async function ingest(store: Store, lifecycle: IssueLifecycle, projectId: number, n: number): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => event(`mgmt ${projectId} ${i}`));
  await store.appendToSpool(events.map((e) => ({ projectId, kind: 'event', eventId: e.eventId, receivedAt: Date.now(), payload: Buffer.from('{}') })));
  const byId = new Map(events.map((e) => [e.eventId, e]));
  const digester = (rows: SpoolRow[]): DigestedRow[] =>
    rows.map((row) => {
      const e = byId.get(row.eventId!);
      if (!e) return { kind: 'rejected', spoolId: row.id, projectId: row.projectId, reason: 'test-foreign-row' };
      return { kind: 'event', spoolId: row.id, projectId: row.projectId, receivedAt: row.receivedAt, event: e, fingerprint: e.title, groupingVersion: 1, compressedPayload: encodePayload(e.payload) };
    });
  while ((await store.digestBatch(100, digester, lifecycle)).rows > 0);
}

function event(title: string): NormalizedEvent {
  return {
    eventId: crypto.randomUUID().replace(/-/g, ''),
    timestamp: Date.now(),
    level: 'error',
    platform: 'node',
    environment: 'production',
    release: null,
    serverName: null,
    transaction: null,
    origin: null,
    title,
    culprit: null,
    message: null,
    exceptionType: null,
    exceptionValue: null,
    userKey: 'u1',
    telegram: null,
    request: null,
    tags: { chat_type: 'private' },
    payload: { message: title },
  };
}
