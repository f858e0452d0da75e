// Which model folder the trainer loads: the user's `hindsight.model.path` when set, otherwise the
// Hindsight Starter bundled with the extension (a small code model the project pretrains itself),
// so a new user sees real suggestions with no download. Pure apart from one existence check.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folder name of the bundled model inside the extension. */
export const STARTER_FOLDER = path.join('models', 'hindsight-starter');

export function bundledModelPath(extensionPath: string): string | undefined {
  const dir = path.join(extensionPath, STARTER_FOLDER);
  return fs.existsSync(path.join(dir, 'config.json')) ? dir : undefined;
}

/** The configured folder, or the bundled starter when none is configured ('' when neither exists). */
export function effectiveModelPath(configured: string | undefined, extensionPath: string): string {
  const set = configured?.trim();
  return set ? set : (bundledModelPath(extensionPath) ?? '');
}
