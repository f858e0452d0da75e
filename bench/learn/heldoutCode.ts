// Held-out code for bench:learn's forgetting measure: written for this bench (so in no pretraining
// corpus and in none of the preference contexts), TypeScript and Python in ordinary styles. Its
// bits per byte under the base model and under each adapter is the "did it forget how to write
// code" number.

export const HELDOUT_CODE: { languageId: string; text: string }[] = [
  {
    languageId: 'typescript',
    text: `import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Entry {
  name: string;
  size: number;
  modified: Date;
}

/** Lists the files of a folder, largest first, skipping hidden ones. */
export function listFiles(dir: string): Entry[] {
  const out: Entry[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const stat = fs.statSync(path.join(dir, name));
    if (!stat.isFile()) continue;
    out.push({ name, size: stat.size, modified: stat.mtime });
  }
  return out.sort((a, b) => b.size - a.size);
}

export function totalSize(entries: Entry[]): number {
  return entries.reduce((sum, e) => sum + e.size, 0);
}

export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }
}
`,
  },
  {
    languageId: 'python',
    text: `import json
import os
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1

    def total(self):
        return self.price * self.quantity


def load_items(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        data = json.load(f)
    return [Item(**row) for row in data]


def cheapest(items):
    best = None
    for item in items:
        if best is None or item.price < best.price:
            best = item
    return best


def group_by_name(items):
    groups = {}
    for item in items:
        groups.setdefault(item.name, []).append(item)
    return groups


def summary(items):
    count = sum(item.quantity for item in items)
    value = sum(item.total() for item in items)
    return {"count": count, "value": round(value, 2)}
`,
  },
];
