import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.js';
import { CONFIG_KEYS } from './schema.js';

describe('configuration', () => {
  it('documents exactly the keys it reads in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, [...CONFIG_KEYS].sort());
  });

  it('has working defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8000);
    assert.equal(config.publicUrl, 'http://127.0.0.1:8000');
    assert.equal(config.retentionDays, 30);
    assert.ok(Object.isFrozen(config));
  });

  it('refuses bad values, naming every bad key', () => {
    assert.throws(
      () => loadConfig({ BOTPULSE_PORT: '99999', ERROR_LOG_RETENTION_DAYS: 'soon' }),
      (err: Error) => err instanceof ConfigError && /BOTPULSE_PORT/.test(err.message) && /ERROR_LOG_RETENTION_DAYS/.test(err.message),
    );
    assert.throws(() => loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: '(' }), /not a valid regex/);
  });

  it('reads a JSON file that the environment overrides, and *_FILE values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-config-'));
    writeFileSync(join(dir, 'botpulse.json'), JSON.stringify({ BOTPULSE_PORT: 9100, ERROR_LOG_RETENTION_DAYS: 7 }));
    writeFileSync(join(dir, 'url'), 'https://errors.example.com/\n');
    const config = loadConfig({ BOTPULSE_CONFIG: join(dir, 'botpulse.json'), ERROR_LOG_RETENTION_DAYS: '14', BOTPULSE_URL_FILE: join(dir, 'url') });
    assert.equal(config.port, 9100);
    assert.equal(config.retentionDays, 14);
    assert.equal(config.publicUrl, 'https://errors.example.com');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ BOTPULSE_PROT: 1 }));
    assert.throws(() => loadConfig({ BOTPULSE_CONFIG: join(dir, 'bad.json') }), /unknown keys .*BOTPULSE_PROT/);
  });
});
