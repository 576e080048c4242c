// Loaded with `--import` (through NODE_OPTIONS, so the CLI, the digest worker and the servers the
// tests start get it too): when NATIVE_SQLITE_DIR names a better-sqlite3 built for this Node
// (scripts/native-for-node.mjs), `import 'better-sqlite3'` loads that copy instead of the one in
// node_modules, which is built for the machine's Node. For test runs on other Node versions only.
import { register } from 'node:module';

if (process.env.NATIVE_SQLITE_DIR) register('./native-resolve.mjs', import.meta.url, { data: { dir: process.env.NATIVE_SQLITE_DIR } });
