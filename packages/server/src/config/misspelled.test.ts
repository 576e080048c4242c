import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, unknownBotpulseKeys, unknownKeyWarnings } from './misspelled.js';

describe('misspelled BOTPULSE_* variables', () => {
  const cases: [string, string | null][] = [
    ['BOTPULSE_POTR', 'BOTPULSE_PORT'], // swapped letters
    ['BOTPULSE_PROT', 'BOTPULSE_PORT'],
    ['BOTPULSE_DATADIR', 'BOTPULSE_DATA_DIR'],
    ['BOTPULSE_LOGLEVEL', 'BOTPULSE_LOG_LEVEL'],
    ['BOTPULSE_DATABSE_URL', 'BOTPULSE_DATABASE_URL'],
    ['BOTPULSE_TELEGRAM_TOKN', 'BOTPULSE_TELEGRAM_TOKEN'],
    ['BOTPULSE_DATABSE_URL_FILE', 'BOTPULSE_DATABASE_URL'],
    ['BOTPULSE_SOMETHING_ELSE_ENTIRELY', null],
  ];
  for (const [key, suggestion] of cases) {
    it(`${key} → ${suggestion ?? 'no suggestion'}`, () => {
      assert.deepEqual(unknownBotpulseKeys({ [key]: '1' }), [{ key, suggestion }]);
    });
  }

  it('knows the settings, their _FILE forms, and the SDK\'s and the tests\' own variables', () => {
    const env = {
      BOTPULSE_PORT: '1',
      BOTPULSE_DATABASE_URL_FILE: '/run/secrets/db',
      ERROR_LOG_RETENTION_DAYS: '7',
      BOTPULSE_DSN: 'http://k@h/1',
      BOTPULSE_CONFIG: '/etc/botpulse.json',
      BOTPULSE_DISK_QUEUE: 'off',
      BOTPULSE_TEST_DATABASE_URL: 'postgres://x',
      BOTPULSE_SERVER_NODE: '/usr/bin/node',
      HOME: '/root',
    };
    assert.deepEqual(unknownBotpulseKeys(env), []);
  });

  it('words the warning with the fix', () => {
    assert.deepEqual(unknownKeyWarnings({ BOTPULSE_POTR: '9000', BOTPULSE_DATABSE_URL_FILE: '/x' }), [
      'warning: BOTPULSE_DATABSE_URL_FILE is not a Botpulse setting and is ignored; did you mean BOTPULSE_DATABASE_URL_FILE?',
      'warning: BOTPULSE_POTR is not a Botpulse setting and is ignored; did you mean BOTPULSE_PORT?',
    ]);
  });

  it('counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('PORT', 'POTR'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });
});
