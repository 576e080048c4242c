// The resolve hook registered by native-for-node.mjs.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let entry = null;

export function initialize({ dir }) {
  entry = pathToFileURL(join(dir, 'lib', 'index.js')).href;
}

export async function resolve(specifier, context, next) {
  if (entry && specifier === 'better-sqlite3') return { url: entry, format: 'commonjs', shortCircuit: true };
  return next(specifier, context);
}
