// The trainer process's environment: plain Node under Electron, and glibc's huge-page tunable
// added to whatever tunables the user has, never overriding theirs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { trainerProcessEnv } from '../../../src/trainer/processEnv';

test('adds ELECTRON_RUN_AS_NODE and the huge-page tunable, keeping the rest of the environment', () => {
  const env = trainerProcessEnv({ PATH: '/bin', HOME: '/h' });
  assert.equal(env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  assert.equal(env.PATH, '/bin');
});

test('appends to the user\'s tunables and keeps their own huge-page choice', () => {
  assert.equal(trainerProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  assert.equal(trainerProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0');
});
