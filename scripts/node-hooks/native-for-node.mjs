// Loaded with `--import` (through NODE_OPTIONS, so the CLI, the digest worker and the servers the
// tests start get it too): when NATIVE_SQLITE_DIR names a better-sqlite3 built for this Node
// (scripts/native-for-node.mjs), `import 'better-sqlite3'` and `require('better-sqlite3')` load that
// copy instead of the one in node_modules, which is built for the machine's Node. For test runs on
// other Node versions only.
//
// Why two kinds of hook: module.register's asynchronous hooks see `import` only, never a
// `require` (createRequire(import.meta.url)('better-sqlite3'), as the benchmark seeder does), so
// such a require loaded the machine's build and failed with NODE_MODULE_VERSION. The synchronous
// module.registerHooks (Node 22.15+, 23.5+) sees both; older Nodes keep the asynchronous one.
import * as nodeModule from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.NATIVE_SQLITE_DIR;
if (dir) {
  if (typeof nodeModule.registerHooks === 'function') {
    const url = pathToFileURL(join(dir, 'lib', 'index.js')).href;
    nodeModule.registerHooks({
      resolve(specifier, context, next) {
        if (specifier === 'better-sqlite3') return { url, format: 'commonjs', shortCircuit: true };
        return next(specifier, context);
      },
    });
  } else {
    nodeModule.register('./native-resolve.mjs', import.meta.url, { data: { dir } });
  }
}
