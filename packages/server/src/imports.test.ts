import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Dependencies point one way (docs/architecture.md, "Layout"). This test reads every import and
// export-from of the server's source (type-only imports included: a type import still ties the
// lower folder to the higher one's design), and fails when a folder imports one above it, or when
// any modules import each other in a circle, however long.

/**
 * The server's folders from the bottom up. A folder may import its own layer and the layers below;
 * never one above. Folders on one line are independent of each other. A new folder (or top-level
 * file) must be placed here, and in docs/architecture.md.
 */
const LAYERS: string[][] = [
  ['lib'], //                         helpers that import nothing from the app
  ['tail'], //                        the `botpulse tail` client (follow, join, parse, ship); the server never imports it
  ['store'], //                       interfaces, model, migrations, the SQLite and PostgreSQL implementations
  ['grouping', 'ingest'], //          fingerprints; body reading, intake, the spool
  ['digest'], //                      normalise, scrub, the issue lifecycle, the digest loop and thread
  ['logs'], //                        log lines: template mining (templates.ts, pure), the log rules and their keys
  ['http'], //                        Fastify app: ingestion and the /api/v1 JSON API
  ['alerts'], //                      rules, engine, outbox, channels
  ['github'], //                      GitHub issues in step with Botpulse issues (reads alert items; the alert bot gets it as a hook)
  ['monitors'], //                    heartbeats, probes, thresholds (they alert through alerts)
  ['upstream'], //                    forwarding stored events to an upstream Sentry
  ['web'], //                         the dashboard (shows issues, alerts and monitors)
  ['config'], //                      every key, composed from the domains' own key schemas
  ['metrics'], //                     /metrics reads every part
  ['main.ts', 'stores.ts', 'digest-thread.ts', 'upstream-thread.ts', 'log-line-thread.ts', 'retention.ts'], // the composition roots: pick every concrete part
  ['cli'], //                         the `botpulse` commands
  ['test-support'], //                test helpers (start a whole server)
];

const SRC = dirname(fileURLToPath(import.meta.url));

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** `store/sqlite/index.ts` → `store`; `main.ts` → `main.ts`. */
function folderOf(file: string): string {
  return relative(SRC, file).split(sep)[0]!;
}

function layerOf(file: string): number {
  const folder = folderOf(file);
  const layer = LAYERS.findIndex((l) => l.includes(folder));
  if (layer < 0) throw new Error(`${relative(SRC, file)}: folder "${folder}" has no layer; add it to LAYERS in imports.test.ts and to docs/architecture.md`);
  return layer;
}

/** Every module a file imports or re-exports from (relative specifiers inside src), as .ts paths. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts'))
    .filter((target) => target.startsWith(SRC + sep));
}

function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  return new Map(files.map((f) => [f, importsOf(f).filter((t) => known.has(t))]));
}

/** Modules that import each other in a circle (Tarjan's strongly connected components), each listed once. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('imports of packages/server/src (type-only included)', () => {
  const graph = importGraph(sourceFiles(SRC));
  const name = (file: string) => relative(SRC, file).split(sep).join('/');

  it('reads the source (the parser finds the imports it should)', () => {
    assert.ok(graph.size > 50, `only ${graph.size} files found under ${SRC}`);
    const main = graph.get(join(SRC, 'main.ts'))!.map(name);
    assert.ok(main.includes('store/store.ts'), 'a type-only import of main.ts is seen');
  });

  it('no folder imports a folder above it', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (layerOf(target) > layerOf(file)) upward.push(`${name(file)} → ${name(target)} (${folderOf(file)} is below ${folderOf(target)})`);
      }
    }
    assert.deepEqual(upward, [], `imports that point up:\n  ${upward.join('\n  ')}`);
  });

  it('no modules import each other in a circle', () => {
    const found = cycles(graph).map((c) => c.map(name).join(' ↔ '));
    assert.deepEqual(found, [], `import cycles:\n  ${found.join('\n  ')}`);
  });

  it('the cycle finder finds a circle of three and a module that imports itself', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    assert.deepEqual(cycles(g), [['a', 'b', 'c'], ['e']]);
  });
});
