// Supervises one server process so it can never outlive the benchmark: run.mjs forks this guard
// with IPC; the guard spawns the server (stdout/stderr to a log file) and kills it when told to,
// when the server should be stopped, or when run.mjs dies (IPC disconnect), even by SIGKILL.
// The server itself is started unmodified.
//
// If run.mjs dies, the guard also removes the server's data dir (argv[3], '-' for none).
//
// Messages in:  {cmd:'stop', graceMs}          Messages out: {type:'spawned', pid}, {type:'exit', code, signal}

import { spawn } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';

const [, , logFile, orphanCleanupDir, command, ...args] = process.argv;
const log = openSync(logFile, 'a');
const child = spawn(command, args, { stdio: ['ignore', log, log], env: process.env });
let exited = false;

child.on('spawn', () => process.send?.({ type: 'spawned', pid: child.pid }));
child.on('error', (err) => {
  process.send?.({ type: 'exit', code: null, signal: null, error: err.message });
  process.exit(1);
});
child.on('exit', (code, signal) => {
  exited = true;
  if (process.connected) {
    process.send({ type: 'exit', code, signal });
    setTimeout(() => process.exit(0), 50);
  }
});

function stop(graceMs) {
  if (exited) return;
  child.kill('SIGTERM');
  setTimeout(() => {
    if (!exited) child.kill('SIGKILL');
  }, graceMs).unref();
}

process.on('message', (msg) => {
  if (msg?.cmd === 'stop') stop(msg.graceMs ?? 10_000);
});
function abandon(cleanup) {
  const finish = () => {
    if (cleanup && orphanCleanupDir && orphanCleanupDir !== '-') rmSync(orphanCleanupDir, { recursive: true, force: true });
    process.exit(0);
  };
  if (exited) return finish();
  child.once('exit', finish);
  child.kill('SIGKILL');
  setTimeout(finish, 2000).unref();
}
// The parent is gone (crashed or killed): nobody will read the results or clean up.
process.on('disconnect', () => abandon(true));
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => abandon(false));
