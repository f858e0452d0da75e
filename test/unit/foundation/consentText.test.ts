// The consent dialog names what is recorded, where, and that nothing leaves the machine.
import test from 'node:test';
import assert from 'node:assert/strict';
import { consentText, untrustedReason } from '../../../src/optin/consentText';

test('consent names the storage folder and the privacy promise', () => {
  const t = consentText('/home/u/.vscode/workspaceStorage/abc/hindsight-dev.hindsight');
  assert.match(t.detail, /\/home\/u\/\.vscode\/workspaceStorage\/abc\/hindsight-dev\.hindsight/);
  assert.match(t.detail, /Nothing leaves this machine/);
  for (const what of ['suggestion', 'accepted', 'rejected', 'compiler errors', 'test and build', 'commit']) assert.match(t.detail, new RegExp(what));
  assert.equal(t.accept, 'Enable');
});

test('untrusted refusal says why and what to do', () => {
  assert.match(untrustedReason(), /not trusted/);
  assert.match(untrustedReason(), /Manage Workspace Trust/);
});
