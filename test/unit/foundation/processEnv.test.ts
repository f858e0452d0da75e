// The trainer process's environment: plain Node under Electron, and glibc's huge-page and
// malloc-threshold tunables added to whatever tunables the user has, never overriding theirs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { hasTrainerTunables, trainerProcessEnv } from '../../../src/trainer/processEnv';

test('adds ELECTRON_RUN_AS_NODE and the tunables, keeping the rest of the environment', () => {
  const env = trainerProcessEnv({ PATH: '/bin', HOME: '/h' });
  assert.equal(env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=67108864');
  assert.equal(env.PATH, '/bin');
  assert.ok(hasTrainerTunables(env));
  assert.ok(!hasTrainerTunables({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }));
});

test('appends to the user\'s tunables and keeps their own choice for either one', () => {
  assert.equal(trainerProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=67108864');
  assert.equal(trainerProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=67108864');
  const own = 'glibc.malloc.mmap_threshold=65536:glibc.malloc.hugetlb=1:glibc.malloc.trim_threshold=0';
  assert.equal(trainerProcessEnv({ GLIBC_TUNABLES: own }).GLIBC_TUNABLES, own);
  assert.ok(hasTrainerTunables({ GLIBC_TUNABLES: own }));
});
