// `npm start` merges only its own keys into the user settings.json: the user's other keys, their
// changes to its keys (also removals) and their comments survive a second run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'jsonc-parser';
import { mergeOwnSettings } from '../../../scripts/lib/userSettings';

test('a second run keeps what the user changed in the Settings UI and writes only its own keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-settings-'));
  const file = path.join(dir, 'User', 'settings.json');
  const memory = path.join(dir, 'start-settings.json');
  try {
    const own = { 'git.enabled': true, 'telemetry.telemetryLevel': 'off', 'workbench.startupEditor': 'none' };
    assert.deepEqual(mergeOwnSettings(file, own, memory), { written: Object.keys(own), kept: [] });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), own);

    // The user changes one of its keys, removes another, adds their own, with a comment.
    const edited = `{\n  // my theme\n  "workbench.colorTheme": "Default Dark Modern",\n  "git.enabled": false,\n  "telemetry.telemetryLevel": "off"\n}\n`;
    fs.writeFileSync(file, edited);
    const second = mergeOwnSettings(file, own, memory);
    assert.deepEqual(second, { written: [], kept: ['git.enabled', 'workbench.startupEditor'] });
    assert.equal(fs.readFileSync(file, 'utf8'), edited, 'untouched, comment included');

    // A new value for a key it still owns (unchanged by the user) is written; the user's stay theirs.
    const third = mergeOwnSettings(file, { ...own, 'telemetry.telemetryLevel': 'error', 'update.mode': 'none' }, memory);
    assert.deepEqual(third, { written: ['telemetry.telemetryLevel', 'update.mode'], kept: ['git.enabled', 'workbench.startupEditor'] });
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /\/\/ my theme/);
    assert.deepEqual(parse(text), { 'workbench.colorTheme': 'Default Dark Modern', 'git.enabled': false, 'telemetry.telemetryLevel': 'error', 'update.mode': 'none' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('settings present before npm start ever wrote them are the user\'s; an unreadable file is refused, not overwritten', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-settings-'));
  const file = path.join(dir, 'settings.json');
  const memory = path.join(dir, 'memory.json');
  try {
    fs.writeFileSync(file, '{ "git.enabled": false, }');
    assert.deepEqual(mergeOwnSettings(file, { 'git.enabled': true, 'update.mode': 'none' }, memory), { written: ['update.mode'], kept: ['git.enabled'] });
    assert.deepEqual(parse(fs.readFileSync(file, 'utf8'), [], { allowTrailingComma: true }), { 'git.enabled': false, 'update.mode': 'none' });
    fs.writeFileSync(file, '{ "git.enabled": ');
    assert.throws(() => mergeOwnSettings(file, { 'git.enabled': true }, memory), /not a JSON object .* does not overwrite it/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{ "git.enabled": ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
