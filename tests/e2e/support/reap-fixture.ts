// Started by children.test.ts: a "test file" that starts a long-lived child, says its pid, and waits.
import { spawn } from 'node:child_process';
import { reapOnExit } from './children.js';

const register = process.argv[2] === 'reap';
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
if (register) reapOnExit(child);
else child.unref();
console.log(String(child.pid));
setInterval(() => {}, 1000);
