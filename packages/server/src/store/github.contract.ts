import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GithubStore } from './github.js';
import type { Store } from './store.js';

export interface GithubContractSetup {
  /** Two GithubStores on one database through two connections (pools), as two processes. */
  a: GithubStore;
  b: GithubStore;
  store: Store;
  /** Inserts an issue row (no events) and returns its id. */
  addIssue(projectId: number, fields: { eventCount: number; lastSeen: number; shortNumber: number }): Promise<number>;
  cleanup(): Promise<void>;
}

/** What every GithubStore must do (docs/github.md), run on SQLite and PostgreSQL. */
export function githubStoreContract(name: string, setup: () => Promise<GithubContractSetup>): void {
  describe(`GithubStore contract: ${name}`, () => {
    let s: GithubContractSetup;
    let projectId: number;
    let shortNumber = 0;
    const issue = (eventCount = 1, lastSeen = 1_000) => s.addIssue(projectId, { eventCount, lastSeen, shortNumber: ++shortNumber });
    before(async () => {
      s = await setup();
      projectId = (await s.store.createProject({ name: 'Pay bot', slug: 'pay' })).id;
    });
    after(() => s.cleanup());

    it('claims a creation once across connections, with one create job', async () => {
      const id = await issue();
      const req = { issueId: id, projectId, repo: 'acme/pay', requestedBy: 'api', now: 10 };
      const results = await Promise.all([s.a.requestCreate(req), s.b.requestCreate({ ...req, requestedBy: 'cli' }), s.a.requestCreate(req), s.b.requestCreate(req)]);
      assert.equal(results.filter((r) => r.claimed).length, 1);
      assert.equal(new Set(results.map((r) => r.link.requestedBy)).size, 1, 'every caller sees the one claim');
      assert.equal(results[0]!.link.state, 'pending');
      const jobs = (await s.a.listJobs()).filter((j) => j.issueId === id);
      assert.deepEqual(jobs.map((j) => j.kind), ['create']);
    });

    it('hands a job to one claimant at a time, counts tries at the claim, and takes it over after the lease', async () => {
      const id = await issue();
      await s.a.requestCreate({ issueId: id, projectId, repo: 'acme/pay', requestedBy: 'api', now: 20 });
      const [x, y] = await Promise.all([s.a.claimJobs('w1', 100, 1_000, 50), s.b.claimJobs('w2', 100, 1_000, 50)]);
      const mine = [...x!, ...y!].filter((j) => j.issueId === id);
      assert.equal(mine.length, 1, 'claimed once');
      assert.equal(mine[0]!.attempts, 1);
      assert.deepEqual((await s.b.claimJobs('w3', 500, 1_000, 50)).filter((j) => j.issueId === id), [], 'held by the lease');
      const taken = (await s.b.claimJobs('w3', 1_101, 1_000, 50)).find((j) => j.issueId === id);
      assert.equal(taken?.attempts, 2, 'a killed claimant still counted its try');
      await s.a.finishJob(taken!.id, mine[0]!.claimedBy!); // the old holder's word no longer counts
      assert.equal((await s.a.listJobs()).filter((j) => j.issueId === id).length, 1);
      await s.b.retryJob(taken!.id, 'w3', 5_000, 'HTTP 502');
      const waiting = (await s.a.listJobs()).find((j) => j.issueId === id)!;
      assert.equal(waiting.nextAttemptAt, 5_000);
      assert.equal(waiting.lastError, 'HTTP 502');
      assert.equal(waiting.claimedBy, null);
      assert.deepEqual((await s.a.claimJobs('w1', 4_999, 1_000, 50)).filter((j) => j.issueId === id), [], 'not due yet');
      assert.equal(await s.b.dueNow(projectId, 4_000), 1);
      assert.equal((await s.a.listJobs()).find((j) => j.issueId === id)!.nextAttemptAt, 4_000);
      const again = (await s.a.claimJobs('w1', 4_000, 1_000, 50)).find((j) => j.issueId === id)!;
      await s.a.failJob(again.id, 'w1', 'HTTP 401 Bad credentials');
      assert.equal((await s.a.listJobs({ status: 'failed' })).find((j) => j.issueId === id)?.lastError, 'HTTP 401 Bad credentials');
      assert.deepEqual((await s.a.claimJobs('w1', 9_000, 1_000, 50)).filter((j) => j.issueId === id), [], 'failed jobs wait for a requeue');
      assert.equal(await s.b.requeueFailed(projectId, 9_000), 1);
      const back = (await s.a.claimJobs('w1', 9_000, 1_000, 50)).find((j) => j.issueId === id)!;
      await s.a.finishJob(back.id, 'w1');
      assert.equal((await s.a.listJobs()).filter((j) => j.issueId === id).length, 0);
    });

    it('links once: the number and URL go on the link and the issue row; the first answer wins', async () => {
      const id = await issue();
      await s.a.requestCreate({ issueId: id, projectId, repo: 'Acme/Pay', requestedBy: 'api', now: 30 });
      const job = (await s.a.listJobs()).find((j) => j.issueId === id)!;
      const link = await s.a.completeCreate(job.id, id, 12, 'https://github.example/acme/pay/issues/12', 40);
      assert.equal(link.state, 'linked');
      assert.equal(link.number, 12);
      assert.equal(link.linkedAt, 40);
      const again = await s.b.completeCreate(job.id, id, 13, 'https://github.example/acme/pay/issues/13', 50);
      assert.equal(again.number, 12);
      const row = await s.store.getIssue(id);
      assert.equal(row?.githubNumber, 12);
      assert.equal(row?.githubUrl, 'https://github.example/acme/pay/issues/12');
      assert.equal((await s.b.findLink('acme/pay', 12))?.issueId, id, 'repository names are case-insensitive, as on GitHub');
      assert.equal(await s.b.findLink('acme/pay', 99), null);
      const { issues } = await s.store.searchIssues({ projectId, untracked: true });
      assert.ok(!issues.some((i) => i.id === id), 'a linked issue is no longer untracked');
    });

    it('records the last action, and finds resolved issues whose GitHub issue is open', async () => {
      const id = await issue();
      await s.a.requestCreate({ issueId: id, projectId, repo: 'acme/pay', requestedBy: 'api', now: 60 });
      const job = (await s.a.listJobs()).find((j) => j.issueId === id)!;
      await s.a.completeCreate(job.id, id, 20, 'https://github.example/acme/pay/issues/20', 61);
      assert.ok(!(await s.a.resolvedButOpen(projectId, 100)).some((l) => l.issueId === id));
      await s.store.setIssueStatus(id, { status: 'resolved' });
      assert.ok((await s.a.resolvedButOpen(projectId, 100)).some((l) => l.issueId === id));
      assert.equal(await s.a.enqueueClose(id, projectId, 70), true);
      assert.equal(await s.b.enqueueClose(id, projectId, 70), false, 'one close job at a time');
      assert.ok(!(await s.a.resolvedButOpen(projectId, 100)).some((l) => l.issueId === id), 'a waiting close job is not asked for twice');
      await s.b.recordAction(id, { action: 'closed', actor: 'octocat', at: 80, githubState: 'closed' });
      const link = (await s.a.getLink(id))!;
      assert.deepEqual([link.lastAction, link.lastActor, link.lastActionAt, link.githubState], ['closed', 'octocat', 80, 'closed']);
    });

    it('offers unlinked, unresolved issues at N events seen since a time for automatic creation', async () => {
      const project = (await s.store.createProject({ name: 'Auto', slug: 'auto' })).id;
      const add = (n: number, lastSeen: number) => s.addIssue(project, { eventCount: n, lastSeen, shortNumber: ++shortNumber });
      const two = await add(2, 5_000);
      const three = await add(3, 5_000);
      const old = await add(9, 100);
      const linked = await add(4, 5_000);
      const resolved = await add(5, 5_000);
      await s.store.setIssueStatus(resolved, { status: 'resolved' });
      await s.a.requestCreate({ issueId: linked, projectId: project, repo: 'acme/auto', requestedBy: 'api', now: 1 });
      assert.deepEqual(await s.b.autoCreateCandidates(project, 3, 1_000, 10), [three]);
      assert.deepEqual(await s.b.autoCreateCandidates(project, 2, 1_000, 10), [two, three]);
      assert.ok((await s.b.autoCreateCandidates(project, 2, 0, 10)).includes(old));
    });
  });
}
