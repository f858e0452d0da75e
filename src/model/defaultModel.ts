// Which model folder the trainer loads: the user's `hindsight.model.path` when set, otherwise the
// Hindsight Starter bundled with the extension (a small code model the project pretrains itself),
// so a new user sees real suggestions with no download. Pure apart from one existence check.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Development and test switch: when set, an empty model.path loads no model (the extension-host
 * test runs that drive a test double or need no model set it; see test/host/run.ts).
 */
export const NO_BUNDLED_MODEL_ENV = 'HINDSIGHT_NO_BUNDLED_MODEL';

/** Folder name of the bundled model inside the extension. */
export const STARTER_FOLDER = path.join('models', 'hindsight-starter');

export function bundledModelPath(extensionPath: string): string | undefined {
  if (process.env[NO_BUNDLED_MODEL_ENV]) return undefined;
  const dir = path.join(extensionPath, STARTER_FOLDER);
  return fs.existsSync(path.join(dir, 'config.json')) ? dir : undefined;
}

/** The configured folder, or the bundled starter when none is configured ('' when neither exists). */
export function effectiveModelPath(configured: string | undefined, extensionPath: string): string {
  const set = configured?.trim();
  return set ? set : (bundledModelPath(extensionPath) ?? '');
}
