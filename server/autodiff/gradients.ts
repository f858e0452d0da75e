// Reverse-mode differentiation over a Graph: appends the backward pass as ordinary ONNX ops
// to the same graph, so onnxruntime (which has no training API) runs forward + backward as one
// session. The walker does the bookkeeping; the math lives in one table (rules.ts). Only nodes
// on a path from a trainable value to the loss are visited, so frozen weights cost nothing.
import type { Graph, Value } from '../graph/builder';
import { RULES } from './rules';
import { zerosLike } from './rules';

const FLOAT = new Set(['float32', 'float64', 'float16', 'bfloat16']);

export interface GradientOptions {
  /** Gradient of the final objective w.r.t. `loss` (default: ones, i.e. d loss / d loss = 1). */
  seed?: Value;
  /** Name scope for the backward ops (default 'grad'). */
  scope?: string;
}

/**
 * Append ops computing d loss / d w for each `w` in `wrt` and return them by w's name.
 * A `w` the loss does not depend on gets zeros. Throws naming the op when a node on the
 * path has no rule.
 */
export function gradients(g: Graph, loss: Value, wrt: Value[], opts: GradientOptions = {}): Map<string, Value> {
  const nodes = g.nodes.slice(); // a snapshot: the backward ops appended below are not walked
  const producers = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) for (const o of n.outputs) producers.set(o, n);
  const producer = (v: Value) => producers.get(v.name);
  // Forward sweep: which values depend on a trainable value (nodes are in topological order).
  const live = new Set(wrt.map((w) => w.name));
  const onPath: boolean[] = nodes.map((n) => {
    if (!n.inputs.some((i) => live.has(i))) return false;
    for (const o of n.outputs) if (FLOAT.has(g.values.get(o)!.dtype)) live.add(o);
    return true;
  });

  // Gradient contributions per value, summed when the producing node is reached.
  const parts = new Map<string, Value[]>();
  const push = (name: string, d: Value) => {
    const list = parts.get(name);
    if (list) list.push(d);
    else parts.set(name, [d]);
  };
  const total = (name: string): Value | undefined => {
    const list = parts.get(name);
    if (!list) return undefined;
    const sum = list.reduce((acc, d) => g.add(acc, d));
    parts.set(name, [sum]);
    return sum;
  };

  return g.scope(opts.scope ?? 'grad', () => {
    if (live.has(loss.name)) {
      const seed = opts.seed ?? (loss.shape && loss.shape.length === 0 ? g.scalar(1, loss) : g.add(zerosLike(g, loss), g.scalar(1, loss)));
      push(loss.name, seed);
      for (let k = nodes.length - 1; k >= 0; k--) {
        if (!onPath[k]) continue;
        const node = nodes[k];
        const dy = node.outputs.map((o) => total(o));
        if (dy.every((d) => !d)) continue; // does not reach the loss
        const rule = RULES[node.opType];
        if (!rule) throw new Error(`autodiff: no gradient rule for ONNX op '${node.opType}' (node '${node.name}'); add one to server/autodiff/rules.ts`);
        const x = node.inputs.map((i) => (i ? g.values.get(i) : undefined));
        const needs = node.inputs.map((i) => !!i && live.has(i));
        const y = node.outputs.map((o) => g.values.get(o)!);
        const dx = g.scope(node.name, () => rule({ g, node, x, y, dy, needs, producer }));
        dx.forEach((d, i) => {
          if (!needs[i]) return;
          if (!d) throw new Error(`autodiff: rule for '${node.opType}' gave no gradient for input ${i} ('${node.inputs[i]}') of '${node.name}'`);
          push(node.inputs[i], d);
        });
      }
    }
    const out = new Map<string, Value>();
    for (const w of wrt) out.set(w.name, total(w.name) ?? zerosLike(g, w));
    return out;
  });
}

/** Names of the ops that have a gradient rule (for docs and error messages). */
export const differentiableOps = (): string[] => Object.keys(RULES).sort();
