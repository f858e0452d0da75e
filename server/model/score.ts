// The score graph: per-token log π(target_t | tokens ≤ t) under the decoder (+ LoRA inputs), for
// behaviour/teacher log-probs and as the value the trainer builds its loss on. Inputs are aligned:
// target_ids[b, t] is the token that follows input_ids[b, t]; target_mask zeroes the rest.
// Leaves out: the loss itself (server/train), generation (server/serve).
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../graph/builder';
import type { ModelConfig } from './config';
import { buildDecoder, type DecoderOptions, type DecoderValues, type WeightSet } from './decoder';
import { createSession, type SessionOptions } from './session';
import { loraTensors } from './lora';

export interface ScoreValues {
  /** [B, T] mask · log π(target_ids | input_ids ≤ t), compute dtype. */
  tokenLogprobs: Value;
  /** int64 [B, T] */
  targetIds: Value;
  /** [B, T] 1 where target_ids[b, t] is scored, compute dtype. */
  targetMask: Value;
  /** [B, T, V] log-softmax of the logits. */
  logprobs: Value;
  decoder: DecoderValues;
}

/** Append decoder + log-softmax + GatherElements to `g` (no KV cache; all positions). */
export function buildScore(g: Graph, cfg: ModelConfig, weights: WeightSet, opts: Omit<DecoderOptions, 'cache' | 'logits'> = {}): ScoreValues {
  const decoder = buildDecoder(g, cfg, weights, { ...opts, cache: false, logits: 'all' });
  const dtype = opts.dtype ?? 'float32';
  const targetIds = g.input('target_ids', 'int64', ['B', 'T']);
  const targetMask = g.input('target_mask', dtype, ['B', 'T']);
  const logprobs = g.logSoftmax(decoder.logits, -1); // [B, T, V]
  const picked = g.gatherElements(logprobs, g.unsqueeze(targetIds, [2]), 2); // [B, T, 1]
  const tokenLogprobs = g.mul(g.squeeze(picked, [2]), targetMask); // [B, T]
  return { tokenLogprobs, targetIds, targetMask, logprobs, decoder };
}

/** Aligned inputs for scoring `target` after `context`: returns ids, targets, mask of length n_c + n_y − 1. */
export function scoreInputs(context: number[], target: number[]): { inputIds: number[]; targetIds: number[]; mask: number[] } {
  if (!context.length) throw new Error('scoreInputs: context must hold at least one token (the first target needs something to condition on)');
  const all = [...context, ...target];
  const inputIds = all.slice(0, -1);
  const targetIds = all.slice(1);
  const mask = targetIds.map((_, t) => (t >= context.length - 1 ? 1 : 0));
  return { inputIds, targetIds, mask };
}

/** A runnable score session (float32), with LoRA inputs when `opts.lora` is given. */
export class ScoreSession {
  private constructor(readonly session: ort.InferenceSession, readonly cfg: ModelConfig, readonly opts: Omit<DecoderOptions, 'cache' | 'logits'>) {}

  static async create(cfg: ModelConfig, weights: WeightSet, opts: Omit<DecoderOptions, 'cache' | 'logits' | 'dtype'> = {}, session: SessionOptions & { modelFile?: (bytes: Uint8Array) => string } = {}): Promise<ScoreSession> {
    const g = new Graph(`${cfg.architecture}_score`);
    const s = buildScore(g, cfg, weights, opts);
    g.output(s.tokenLogprobs, 'token_logprobs');
    const bytes = g.encode({ '': 21, 'com.microsoft': 1 });
    const { session: ses } = await createSession(session.modelFile ? session.modelFile(bytes) : bytes, session);
    return new ScoreSession(ses, cfg, opts);
  }

  /** log π(target_i | context, target_<i) for each target token. `adapter` = LoRA values by PEFT name (zeros when omitted). */
  async score(context: number[], target: number[], adapter?: Map<string, Float32Array>): Promise<number[]> {
    const { inputIds, targetIds, mask } = scoreInputs(context, target);
    const T = inputIds.length;
    const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, T]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(inputIds),
      position_ids: i64(inputIds.map((_, t) => t)),
      target_ids: i64(targetIds),
      target_mask: new ort.Tensor('float32', Float32Array.from(mask), [1, T]),
    };
    if (this.opts.lora)
      for (const t of loraTensors(this.cfg, this.opts.lora))
        feeds[t.name] = new ort.Tensor('float32', adapter?.get(t.name) ?? new Float32Array(t.shape[0] * t.shape[1]), t.shape);
    const out = await this.session.run(feeds);
    const lp = out.token_logprobs.data as Float32Array;
    return Array.from(lp.subarray(context.length - 1));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
