import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load.js';
import { CONFIG_KEYS } from './schema.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('configuration', () => {
  it('documents exactly the keys it reads in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    // The `botpulse tail` client's keys have a table of their own: the server does not read them.
    const serverPart = doc.replace(/^### `botpulse tail` \(client side\)[\s\S]*?(?=^### )/m, '');
    const documented = [...serverPart.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
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
    assert.throws(() => loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: '(' }), /BOTPULSE_SCRUB_EXTRA_PATTERNS: "\(" is not a valid RE2 pattern: .*missing closing \)/);
  });

  it('refuses at start a scrub pattern that needs backtracking (a backreference, a lookbehind), saying why', () => {
    for (const [pattern, reason] of [
      ['(a)\\1', /invalid escape sequence: `\\1`/],
      ['(?<=token )\\w+', /invalid named capture|invalid or unsupported Perl syntax/],
      ['x(?!y)', /missing argument to repetition operator|invalid or unsupported Perl syntax/],
    ] as const) {
      assert.throws(
        () => loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: pattern }),
        (err: Error) =>
          err instanceof ConfigError &&
          err.message.includes(`BOTPULSE_SCRUB_EXTRA_PATTERNS: "${pattern}" is not a valid RE2 pattern`) &&
          reason.test(err.message) &&
          /no backreferences .* no lookahead or lookbehind/.test(err.message),
        pattern,
      );
    }
  });

  it('compiles scrub patterns with RE2 (linear time), comma-separated or as a JSON array when a pattern holds a comma', () => {
    const listed = loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: '(a+)+$, acme_\\w+' }).scrub.extraPatterns;
    assert.deepEqual(listed.map((p) => [p.source, p.engine]), [['(a+)+$', 're2js'], ['acme_\\w+', 're2js']]);
    const json = loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: JSON.stringify(['\\b\\d{13,16}\\b', 'x,y']) }).scrub.extraPatterns;
    assert.deepEqual(json.map((p) => p.source), ['\\b\\d{13,16}\\b', 'x,y']);
    assert.equal(json[0]!.test('card 4111111111111111 end'), true);
    assert.throws(() => loadConfig({ BOTPULSE_SCRUB_EXTRA_PATTERNS: '[1, 2]' }), /must be an array of pattern strings/);
  });

  it('reads a JSON file that the environment overrides, and *_FILE values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'botpulse.json'), JSON.stringify({ BOTPULSE_PORT: 9100, ERROR_LOG_RETENTION_DAYS: 7 }));
    writeFileSync(join(dir, 'url'), 'https://errors.example.com/\n');
    const config = loadConfig({ BOTPULSE_CONFIG: join(dir, 'botpulse.json'), ERROR_LOG_RETENTION_DAYS: '14', BOTPULSE_URL_FILE: join(dir, 'url') });
    assert.equal(config.port, 9100);
    assert.equal(config.retentionDays, 14);
    assert.equal(config.publicUrl, 'https://errors.example.com');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ BOTPULSE_PROT: 1 }));
    assert.throws(() => loadConfig({ BOTPULSE_CONFIG: join(dir, 'bad.json') }), /unknown keys .*BOTPULSE_PROT/);
  });

  it('reads BOTPULSE_MONITORS as JSON text or as a nested object in the file, and names what is wrong in it', () => {
    const declared = { 'pay-bot': [{ slug: 'poller', periodSeconds: 20, failureThreshold: 2 }, { slug: 'health', kind: 'uptime', url: 'http://bot:8080/health' }] };
    const fromEnv = loadConfig({ BOTPULSE_MONITORS: JSON.stringify(declared) });
    assert.equal(fromEnv.monitors.declared['pay-bot']?.[0]?.failureThreshold, 2);
    assert.equal(fromEnv.monitors.declared['pay-bot']?.[1]?.kind, 'uptime');
    assert.equal(fromEnv.monitors.declared['pay-bot']?.[0]?.kind, 'heartbeat', 'the default kind');
    const dir = mkdtempSync(join(tmpdir(), 'botpulse-config-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'botpulse.json'), JSON.stringify({ BOTPULSE_MONITORS: declared, BOTPULSE_ALERT_RULES: { 'pay-bot': { frequency: '5/1m' } } }));
    const fromFile = loadConfig({ BOTPULSE_CONFIG: join(dir, 'botpulse.json') });
    assert.deepEqual(fromFile.monitors.declared, fromEnv.monitors.declared);
    assert.equal(fromFile.alerts.overrides['pay-bot']?.frequency?.count, 5);
    assert.deepEqual(loadConfig({}).monitors.declared, {});

    const bad: [unknown, RegExp][] = [
      [{ x: [{ slug: 'h', kind: 'uptime' }] }, /x\.0\.url: an uptime monitor needs "url"/],
      [{ x: [{ slug: 'h', schedule: '61 * * * *' }] }, /x\.0\.schedule: .*61/],
      [{ x: [{ slug: 'h', timezone: 'Mars/Base' }] }, /unknown time zone "Mars\/Base"/],
      [{ x: [{ slug: 'h', perodSeconds: 5 }] }, /perodSeconds/],
      [{ x: [{ slug: 'h' }, { slug: 'h' }] }, /"h" is declared twice/],
      [{ x: [{ slug: 'no spaces' }] }, /x\.0\.slug/],
      [{ x: { slug: 'h' } }, /x: /],
    ];
    for (const [value, message] of bad) {
      assert.throws(
        () => loadConfig({ BOTPULSE_MONITORS: JSON.stringify(value) }),
        (err: Error) => err instanceof ConfigError && /BOTPULSE_MONITORS/.test(err.message) && message.test(err.message),
        `${JSON.stringify(value)} → ${message}`,
      );
    }
    assert.throws(() => loadConfig({ BOTPULSE_MONITORS: '{oops' }), /BOTPULSE_MONITORS: not JSON/);
  });
});
