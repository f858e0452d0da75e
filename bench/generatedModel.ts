// A model folder generated for a bench (scripts/make-model.ts: seeded random weights, real
// geometry): float32 for the tiny preset, bfloat16 for the real geometries. In a child process, so
// the gigabyte of generated floats is not garbage in the bench's own heap.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export function generateModel(preset: string, out: string): void {
  const script = path.join(__dirname, '..', 'scripts', 'make-model.ts');
  execFileSync(process.execPath, ['--import', 'tsx', script, '--preset', preset, '--out', out, '--dtype', preset === 'tiny' ? 'F32' : 'BF16'], { stdio: 'ignore' });
}
