import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewLogLine } from '../store/logs.js';
import { LogTemplater } from './templater.js';

const line = (projectId: number, message: string): NewLogLine => ({
  projectId,
  time: 1,
  receivedAt: 1,
  level: 'info',
  logger: null,
  message,
  fields: {},
  environment: null,
  release: null,
  source: 'ndjson',
  lineId: null,
});

describe('LogTemplater', () => {
  it('gives each line its project\'s template, the ids it generalised and the clock\'s time', async () => {
    const templater = new LogTemplater({ load: async () => [], now: () => 42 });
    const lines = [line(1, 'Insufficient balance for user 5 model flux'), line(1, 'Insufficient balance for user 6 model sdxl'), line(2, 'Insufficient balance for user 6 model sdxl')];
    await templater.prepare(lines);
    templater.assign(lines);
    const [a, b, c] = lines.map((l) => l.template!);
    assert.equal(a!.text, 'Insufficient balance for user <int> model flux');
    assert.equal(b!.text, 'Insufficient balance for user <int> model <*>');
    assert.deepEqual(b!.previousIds, [a!.id]);
    assert.equal(b!.seenAt, 42);
    assert.equal(c!.text, 'Insufficient balance for user <int> model sdxl', 'each project learns on its own');
    assert.equal(c!.previousIds, undefined);
  });

  it('goes on from the stored templates after a restart instead of learning them again', async () => {
    const stored = [{ template: 'Insufficient balance for user <int> model <*>', count: 9 }, { template: 'Bot started', count: 1 }];
    const loads: number[] = [];
    const restarted = new LogTemplater({ load: async (projectId) => (loads.push(projectId), stored) });
    const lines = [line(1, 'Insufficient balance for user 8 model kandinsky')];
    await restarted.prepare(lines);
    await restarted.prepare(lines);
    restarted.assign(lines);
    assert.equal(lines[0]!.template!.text, 'Insufficient balance for user <int> model <*>');
    assert.equal(lines[0]!.template!.previousIds, undefined, 'matched, not generalised');
    assert.deepEqual(loads, [1], 'one read per project');

    const fresh = new LogTemplater({ load: async () => [] });
    const again = [line(1, 'Insufficient balance for user 8 model kandinsky')];
    await fresh.prepare(again);
    fresh.assign(again);
    assert.notEqual(again[0]!.template!.id, lines[0]!.template!.id, 'unseeded, the line would start a template of its own');
  });

  it('keeps a bounded number of projects\' miners, seeding a dropped one again when it logs', async () => {
    const loads: number[] = [];
    const templater = new LogTemplater({ maxProjects: 2, load: async (projectId) => (loads.push(projectId), []) });
    for (const p of [1, 2, 3, 1]) await templater.prepare([line(p, 'x')]);
    assert.deepEqual(loads, [1, 2, 3, 1]);
  });
});
