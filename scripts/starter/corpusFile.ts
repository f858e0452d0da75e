// Reads the corpus JSONL that `npm run starter:corpus` writes: one {source, lang, path, text}
// object per line. Streams line by line so a 150 MB file never sits in memory twice.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { Doc } from './examples';

export interface CorpusDoc extends Doc {
  source: string;
  path: string;
}

/** The first `limit` documents (all when omitted). A missing file says how to make it. */
export function readCorpus(file: string, limit?: number): CorpusDoc[] {
  if (!fs.existsSync(file)) throw new Error(`${file} not found: build the corpus first with npm run starter:corpus`);
  const out: CorpusDoc[] = [];
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 22);
  const utf8 = new StringDecoder('utf8'); // a chunk may end inside a character
  let rest = '';
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      const chunk = rest + (n ? utf8.write(buf.subarray(0, n)) : utf8.end());
      const lines = chunk.split('\n');
      rest = n ? lines.pop()! : '';
      for (const line of lines) {
        if (!line.trim()) continue;
        const d = JSON.parse(line) as CorpusDoc;
        out.push({ text: d.text, lang: d.lang, source: d.source, path: d.path });
        if (limit !== undefined && out.length >= limit) return out;
      }
      if (!n) return out;
    }
  } finally {
    fs.closeSync(fd);
  }
}
