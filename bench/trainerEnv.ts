// Benches that run the model in their own process run it in the trainer process's environment
// (src/trainer/processEnv.ts: glibc's huge pages for the weights, its thresholds for returning
// memory). glibc reads it only at start, so without it the bench runs itself again in a child that
// has it, and exits with the child's code.
import { spawnSync } from 'node:child_process';
import { hasTrainerTunables, trainerProcessEnv } from '../src/trainer/processEnv';

export function runInTrainerEnv(): void {
  if (hasTrainerTunables()) return;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: trainerProcessEnv() });
  process.exit(child.status ?? 1);
}
