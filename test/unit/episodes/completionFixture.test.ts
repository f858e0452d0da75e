import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, FIXTURE_MODEL } from '../../../server/testing/completionFixture';

const base = { uri: 'file:///a.ts', languageId: 'typescript', suffix: '' };

test('the completion TEST DOUBLE answers by rule, labels itself, and refuses when a model is configured', () => {
  const src = JSON.stringify({ rules: [{ prefixEndsWith: 'x = ', text: 'foo();' }, { languageId: 'python', text: 'pass' }] });
  const r = answer(src, { ...base, prefix: 'let x = ' });
  assert.equal(r.kind, 'success');
  assert.equal(r.text, 'foo();');
  assert.equal(r.model, FIXTURE_MODEL);
  assert.equal(r.tokenIds.length, r.logprobs.length);
  assert.equal(answer(src, { ...base, prefix: 'y', languageId: 'python' }).text, 'pass');
  assert.equal(answer(src, { ...base, prefix: 'nothing' }).kind, 'empty');
  assert.equal(answer('/does/not/exist.json', { ...base, prefix: '' }).kind, 'failed');
  const withModel = answer(src, { ...base, prefix: 'let x = ' }, { modelPath: '/models/qwen' } as never);
  assert.equal(withModel.kind, 'unavailable');
});
