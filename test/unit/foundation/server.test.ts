// The trainer process over stdio, as the extension drives it: initialize, status, configure,
// shutdown + exit; stdout carries only protocol frames; console output arrives as `log`.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { lifecycle } from '../../../protocol';

const root = path.join(__dirname, '../../..');

function startServer() {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server/main.ts')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const logs: lifecycle.LogParams[] = [];
  const statuses: lifecycle.StatusResult[] = [];
  connection.onNotification(lifecycle.log, (p) => logs.push(p));
  connection.onNotification(lifecycle.statusChanged, (s) => statuses.push(s));
  connection.listen();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, connection, logs, statuses, exited };
}

// Areas may create files under storageDir on initialize: keep them in a temp folder of our own.
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-server-test-'));
after(() => fs.rmSync(storageDir, { recursive: true, force: true }));
const init: lifecycle.InitializeParams = { storageDir, recordingEnabled: false, modelPath: '', clientVersion: 'test' };

test('initialize, status, configure, then shutdown + exit leaves with code 0', { timeout: 30_000 }, async () => {
  const s = startServer();
  try {
    await assert.rejects(s.connection.sendRequest(lifecycle.configure, { recordingEnabled: true }), /not been initialized/);
    const r = await s.connection.sendRequest(lifecycle.initialize, init);
    assert.equal(r.pid, s.child.pid);
    const st = await s.connection.sendRequest(lifecycle.status);
    assert.equal(st.state, 'ready');
    assert.equal(st.recordingEnabled, false);
    assert.equal(st.modelPath, '');
    const after = await s.connection.sendRequest(lifecycle.configure, { recordingEnabled: true });
    assert.equal(after.recordingEnabled, true);
    assert.ok(s.statuses.some((x) => x.state === 'ready'), 'status/changed pushed');
    assert.ok(s.logs.some((l) => l.level === 'info' && /trainer .* \(pid \d+\)/.test(l.message)), 'initialize logged');
    // Once per process: a second initialize is refused and changes nothing.
    await assert.rejects(s.connection.sendRequest(lifecycle.initialize, { ...init, recordingEnabled: false }), /already initialized/);
    assert.equal((await s.connection.sendRequest(lifecycle.status)).recordingEnabled, true);
    await s.connection.sendRequest(lifecycle.shutdown);
    await s.connection.sendNotification(lifecycle.exit);
    assert.equal(await s.exited, 0);
  } finally {
    s.child.kill('SIGKILL');
    s.connection.dispose();
  }
});

test('exits when the editor closes its stdin', { timeout: 30_000 }, async () => {
  const s = startServer();
  try {
    await s.connection.sendRequest(lifecycle.initialize, init);
    s.child.stdin!.end();
    assert.equal(await s.exited, 0);
  } finally {
    s.child.kill('SIGKILL');
    s.connection.dispose();
  }
});

test('console output and stray stdout writes become log lines, never bytes on stdout', { timeout: 30_000 }, async () => {
  const script = `
    const m = await import(${JSON.stringify(path.join(root, 'server/stdio.ts'))});
    console.log('hello', { a: 1 });
    process.stdout.write('stray');
    console.error(new Error('boom'));
    m.attachLogSink((level, message) => process.stderr.write(level + ':' + message + '\\n'));
    m.frameStream.write('FRAME');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, err);
  assert.equal(out, 'FRAME', 'only frames reach stdout');
  assert.match(err, /info:hello \{"a":1\}/);
  assert.match(err, /info:stray/);
  assert.match(err, /error:Error: boom/);
});
