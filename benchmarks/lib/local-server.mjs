// What several benchmarks set up alike: a free port, the upstream Sentry stand-in, projects with an
// alert chat at the fake Telegram, and a `botpulse serve` child process answering /health.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port nothing listens on (taken, then released): for a server to start on, or to fail against. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The upstream stand-in: answers every envelope 200 as Sentry does, and counts them.
 * `received()`: envelopes so far; `lastAt()`: performance.now() of the last one.
 */
export function startSink() {
  let received = 0;
  let lastAt = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      lastAt = performance.now();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        received: () => received,
        lastAt: () => lastAt,
        close: () => new Promise((c) => (server.closeAllConnections(), server.close(c))),
      }),
    ),
  );
}

/**
 * Creates `projects` (createProject's input each) in `dataDir`'s database through the server's own
 * SqliteStore (from `dist`), before the server starts: each gets a supergroup of its own at the fake
 * Telegram `tg` (ids firstChatId, firstChatId - 1, …) as its alert chat, so Telegram's per-chat
 * pacing never queues one project's alerts behind another's. Resolves with the projects and `chat`.
 */
export async function seedAlertProjects({ dist, tg, dataDir, projects, firstChatId }) {
  const { SqliteStore } = await import(pathToFileURL(join(dist, 'store/sqlite/index.js')).href);
  const store = await SqliteStore.open(join(dataDir, 'botpulse.db'));
  try {
    const seeded = [];
    for (const [i, input] of projects.entries()) {
      const project = await store.createProject(input);
      const chat = tg.createChat({ type: 'supergroup', id: firstChatId - i, title: project.name }).id;
      await store.setProjectSetting(project.id, 'alert_chat_id', String(chat));
      seeded.push({ ...project, chat });
    }
    return seeded;
  } finally {
    await store.close();
  }
}

/**
 * `botpulse serve` (from `dist`) on `port` with `dataDir`, this process's environment and `env`
 * over it; `nodeArgs` go to Node (e.g. --cpu-prof). Resolves with the child process once it answers
 * /health. A loaded machine can take well over 10 s to start a Node process: it waits up to a
 * minute, and says so at once if the server exited instead.
 */
export async function startServe({ dist, dataDir, port, env = {}, nodeArgs = [] }) {
  const child = spawn(process.execPath, [...nodeArgs, join(dist, 'cli/main.js'), 'serve'], {
    env: { ...process.env, BOTPULSE_DATA_DIR: dataDir, BOTPULSE_PORT: String(port), BOTPULSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before answering /health`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {}
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('the server did not answer /health within 60 s');
}
