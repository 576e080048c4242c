import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A GitHub REST API stand-in on 127.0.0.1 for the GitHub integration's tests (docs/github.md).
 * It speaks the few endpoints Botpulse calls, checks the token, and can be told to fail in the
 * ways GitHub fails: 401, 404, rate limits (403/429 with `x-ratelimit-*` or `retry-after`), 500,
 * timeouts (before or after it did the work). It delivers signed `issues` webhooks, as GitHub does
 * when an issue is closed or reopened. Deliberate differences from GitHub: fake-github.md.
 */

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: 'open' | 'closed';
  state_reason: string | null;
  comments: string[];
  createdAt: number;
  /** The login of the token that created it. */
  creator: string;
}

export type FakeFault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; message?: string }
  /** Never answers (the client's timeout ends the call); `afterWork`: does the work first. */
  | { kind: 'hang'; afterWork?: boolean };

export interface FakeRequest {
  method: string;
  path: string;
  at: number;
  /** The endpoint, as matched: create, list, comment, update, other. */
  endpoint: string;
  status: number | 'hung';
}

export interface FakeGithubOptions {
  /** Tokens it accepts, each with the login it acts as. */
  tokens: Record<string, string>;
  /** Repositories (`owner/name`) that exist. */
  repos: string[];
}

export class FakeGithub {
  readonly issues = new Map<string, FakeIssue[]>();
  readonly requests: FakeRequest[] = [];
  private readonly faults: { endpoint: string; fault: FakeFault }[] = [];
  private readonly sockets = new Set<Socket>();
  /** Per repository (lower case); '' for every other repository. */
  private readonly webhooks = new Map<string, { url: string; secret: string }>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly tokens: Record<string, string>,
  ) {}

  static async start(opts: FakeGithubOptions): Promise<FakeGithub> {
    let fake: FakeGithub | null = null;
    const server = createServer((req, res) => void fake!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    fake = new FakeGithub(server, `http://127.0.0.1:${port}`, opts.tokens);
    server.on('connection', (socket) => (fake!.sockets.add(socket), socket.on('close', () => fake!.sockets.delete(socket))));
    for (const repo of opts.repos) fake.issues.set(repo.toLowerCase(), []);
    return fake;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addRepo(repo: string): void {
    this.issues.set(repo.toLowerCase(), []);
  }

  /** The next call to `endpoint` (create, list, comment, update, or `any`) fails this way. */
  failNext(endpoint: string, fault: FakeFault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ endpoint, fault });
  }

  /** Where `issues` events go, signed with `secret`, when an issue is closed or reopened: `repo`'s, or every repository's. */
  setWebhook(url: string, secret: string, repo = ''): void {
    this.webhooks.set(repo.toLowerCase(), { url, secret });
  }

  private webhookFor(repo: string): { url: string; secret: string } | null {
    return this.webhooks.get(repo.toLowerCase()) ?? this.webhooks.get('') ?? null;
  }

  repoIssues(repo: string): FakeIssue[] {
    return this.issues.get(repo.toLowerCase()) ?? [];
  }

  /** A person closes (or reopens) an issue on GitHub: the state changes and the webhook is delivered. Returns the delivery's answer. */
  async act(repo: string, number: number, action: 'closed' | 'reopened', login: string, reason: 'completed' | 'not_planned' = 'completed'): Promise<{ status: number; body: unknown }> {
    const issue = this.repoIssues(repo).find((i) => i.number === number);
    if (!issue) throw new Error(`no issue ${repo}#${number}`);
    issue.state = action === 'closed' ? 'closed' : 'open';
    issue.state_reason = action === 'closed' ? reason : 'reopened';
    return this.deliver(repo, issue, action, login);
  }

  /** Delivers an `issues` event as GitHub would, or with `signature` instead of the right one. */
  async deliver(repo: string, issue: FakeIssue, action: string, login: string, signature?: string): Promise<{ status: number; body: unknown }> {
    const webhook = this.webhookFor(repo);
    if (!webhook) throw new Error('no webhook set');
    const body = JSON.stringify({ action, issue: this.present(repo, issue), repository: { full_name: repo, name: repo.split('/')[1] }, sender: { login } });
    const sig = signature ?? `sha256=${createHmac('sha256', webhook.secret).update(body).digest('hex')}`;
    const res = await fetch(webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': String(Math.random()).slice(2), 'x-hub-signature-256': sig },
      body,
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  private present(repo: string, i: FakeIssue) {
    return {
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      state_reason: i.state_reason,
      labels: i.labels.map((name) => ({ name })),
      html_url: `https://github.example/${repo}/issues/${i.number}`,
      user: { login: i.creator },
      created_at: new Date(i.createdAt).toISOString(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const body = await readJson(req);
    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(url.pathname);
    const endpoint = !m ? 'other' : m[4] ? 'comment' : m[3] ? 'update' : req.method === 'POST' ? 'create' : 'list';
    const record = (status: number | 'hung') => this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, at: Date.now(), endpoint, status });
    const send = (status: number, data: unknown, headers: Record<string, string> = {}) => {
      record(status);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(data));
    };
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const login = token ? this.tokens[token] : undefined;
    if (!login) return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    const faultAt = this.faults.findIndex((f) => f.endpoint === endpoint || f.endpoint === 'any');
    const fault = faultAt >= 0 ? this.faults.splice(faultAt, 1)[0]!.fault : null;
    if (fault?.kind === 'status') return send(fault.status, { message: fault.message ?? `fake fault ${fault.status}` }, fault.headers);
    if (!m) return send(404, { message: 'Not Found' });
    const repo = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
    const issues = this.issues.get(repo.toLowerCase());
    if (!issues) return send(404, { message: 'Not Found' });
    if (fault?.kind === 'hang') {
      // GitHub did the work and the answer was lost, or the call never got that far.
      if (fault.afterWork) this.work(repo, issues, endpoint, req.method ?? '', url, body, m[3] ? Number(m[3]) : null, login);
      record('hung'); // the socket stays open until the client gives up (or close())
      return;
    }
    const answer = this.work(repo, issues, endpoint, req.method ?? '', url, body, m[3] ? Number(m[3]) : null, login);
    send(answer.status, answer.data);
  }

  private work(repo: string, issues: FakeIssue[], endpoint: string, method: string, url: URL, body: Record<string, unknown>, number: number | null, login: string): { status: number; data: unknown } {
    if (endpoint === 'create') {
      if (typeof body.title !== 'string' || !body.title) return { status: 422, data: { message: 'Validation Failed' } };
      const issue: FakeIssue = {
        number: issues.length + 1,
        title: body.title,
        body: typeof body.body === 'string' ? body.body : '',
        labels: Array.isArray(body.labels) ? body.labels.map(String) : [],
        state: 'open',
        state_reason: null,
        comments: [],
        createdAt: Date.now(),
        creator: login,
      };
      issues.push(issue);
      return { status: 201, data: this.present(repo, issue) };
    }
    if (endpoint === 'list' && method === 'GET') {
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const newest = [...issues].reverse();
      return { status: 200, data: newest.slice((page - 1) * perPage, page * perPage).map((i) => this.present(repo, i)) };
    }
    const issue = issues.find((i) => i.number === number);
    if (!issue) return { status: 404, data: { message: 'Not Found' } };
    if (endpoint === 'comment' && method === 'POST') {
      issue.comments.push(String(body.body ?? ''));
      return { status: 201, data: { id: issue.comments.length, body: body.body } };
    }
    if (endpoint === 'update' && method === 'PATCH') {
      const closing = body.state === 'closed' && issue.state !== 'closed';
      if (body.state === 'closed' || body.state === 'open') issue.state = body.state;
      if (typeof body.state_reason === 'string') issue.state_reason = body.state_reason;
      // GitHub delivers the webhook for a change made through the API too, a moment later.
      if (closing && this.webhookFor(repo)) setImmediate(() => void this.deliver(repo, issue, 'closed', login).catch(() => undefined));
      return { status: 200, data: this.present(repo, issue) };
    }
    return { status: 404, data: { message: 'Not Found' } };
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (!chunks.length) return {};
  try {
    const data = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
