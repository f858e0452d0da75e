// The Hindsight Starter recipe in one place: the model's shape, the context it trains at, the
// mix of training examples and the optimiser. Sized to the compute of a 2-core CPU in about two
// hours (≈ 30 MFLOP per training token at ≈ 40–60 GFLOP/s effective ⇒ ≈ 10 M tokens), so a
// small, wide-enough model over a small vocabulary: the head (V·C) dominates at this size.
import type { ModelConfig } from '../../server/model/config';

/** Special tokens by name, as Qwen2.5-Coder names them (FIM, stop rules and serving work unchanged). */
export const SPECIAL_TOKENS = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'] as const;

export const VOCAB_SIZE = 8192;
/** Training context; serving keeps prompts within it (config max_position_embeddings). */
export const CONTEXT = 512;

export function starterConfig(over: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: 'qwen2',
    vocabSize: VOCAB_SIZE,
    hiddenSize: 256,
    numLayers: 6,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    intermediateSize: 704,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    attentionBias: true,
    tieWordEmbeddings: true,
    maxPositions: CONTEXT,
    eosTokenId: [VOCAB_SIZE - SPECIAL_TOKENS.length], // <|endoftext|>: specials sit at the end of the vocabulary
    ...over,
  };
}

export interface ExampleMix {
  fimPsm: number;
  fimSpm: number;
  fimHint: number;
  /** FIM examples come only from documents at least this long, with the cursor past their first line. */
  minDocChars: number;
}

/** Shares of the example kinds (the rest is plain causal LM over packed documents). */
export const MIX: ExampleMix = {
  /** Fill-in-the-middle, prefix-suffix-middle order (what serving sends). */
  fimPsm: 0.35,
  /** Fill-in-the-middle, suffix-prefix-middle order. */
  fimSpm: 0.1,
  /** PSM with a `Hint:` comment above the cursor line that names the middle (the OPD teacher's input). */
  fimHint: 0.15,
  minDocChars: 0,
};

/**
 * The last part of the run anneals on what serving asks: most rows start with a FIM example, taken
 * from real files (not the thousands of one-line re-export shims, whose only FIM case is "the file
 * starts here") with the cursor below the first line. Measured need: at 64 % of the base mix the
 * model still answered FIM prompts with file openings ("import …", "def test_…").
 */
export const ANNEAL = { fromFraction: 0.62, mix: { fimPsm: 0.55, fimSpm: 0.05, fimHint: 0.2, minDocChars: 400 } satisfies ExampleMix };

/**
 * How serving should prompt the starter (written to its hindsight.json). bench:starter, 400 held-out
 * line cases: prefix-only + token healing 16 exact, FIM + healing 1; at natural token boundaries the
 * rest of a line scores −3.5 nats/token from the prefix alone and −4.4 in FIM order with the suffix:
 * at this size FIM is learnt far less well than plain continuation.
 */
export const SERVING = { prompt: 'prefix' as const, why: 'at 6.5 M parameters this model continues a prefix far better than it fills in the middle (bench:starter)' };

export interface TrainRecipe {
  seed: number;
  /** Rows of CONTEXT tokens per optimiser step. */
  rowsPerStep: number;
  /** Rows per ORT run (memory vs. matrix size). */
  rowsPerRun: number;
  lr: number;
  minLrRatio: number;
  warmupSteps: number;
  weightDecay: number;
  betas: [number, number];
  maxGradNorm: number;
}

export const DEFAULT_RECIPE: TrainRecipe = {
  seed: 1,
  rowsPerStep: 16,
  rowsPerRun: 8,
  lr: 2e-3,
  minLrRatio: 0.1,
  warmupSteps: 60,
  weightDecay: 0.1,
  betas: [0.9, 0.95],
  maxGradNorm: 1,
};

/** Forward + backward FLOPs per token of a full-parameter step (matmuls only; 6·params + attention). */
export function flopsPerToken(cfg: ModelConfig, T = CONTEXT): number {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V, numLayers: L } = cfg;
  const perLayer = C * H * D + 2 * C * KV * D + H * D * C + 3 * C * I;
  const attn = 2 * T * H * D; // QKᵀ and PV per token over the full square, as the graph computes it
  return 3 * (2 * L * perLayer + 2 * L * attn + 2 * V * C);
}

export function paramCount(cfg: ModelConfig): number {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V, numLayers: L } = cfg;
  const perLayer = C * H * D + 2 * C * KV * D + H * D * C + 3 * C * I + H * D + 2 * KV * D + 2 * C;
  return V * C + L * perLayer + C + (cfg.tieWordEmbeddings ? 0 : V * C);
}
