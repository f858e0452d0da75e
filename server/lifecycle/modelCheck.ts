// model/check: opens a folder as the serving worker would (config.json, every tensor it implies,
// tokenizer.json and its ids against the vocabulary) without building or running anything, so the
// editor can refuse a folder with the reason before it saves hindsight.model.path.
import { ModelFolderError } from '../model/config';
import { modelFacts } from '../model/facts';
import { openModelFolder } from '../model/folder';
import { loadTokenizer } from '../model/tokenizer';
import type { model } from '../../protocol';

export function checkModelFolder(dir: string): model.CheckResult {
  try {
    const folder = openModelFolder(dir);
    const tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
    if (tok.maxId >= folder.cfg.vocabSize)
      throw new ModelFolderError(folder.tokenizerFile, `has token ids up to ${tok.maxId} but config.json vocab_size is ${folder.cfg.vocabSize} (tokenizer from another model?)`);
    return { ok: true, facts: modelFacts(folder) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
