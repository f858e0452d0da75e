// llama.cpp as bench:serve's reference, through node-llama-cpp (dev dependency, prebuilt CPU
// binaries): a GGUF file the project wrote from the same weights, run with the same threads on the
// same token ids. Prefill, one decode step, a whole suggestion (prompt + sampled tokens, reusing
// the KV cache of a shared prompt prefix as serving does) and the next-token distribution for the
// agreement check. Leaves out llama.cpp's own tokeniser and sampler chain: ids go in, ids come out.
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };

export class LlamaCppRunner {
  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly seq: LlamaContextSequence,
  ) {}

  /** `lora`: a GGUF LoRA adapter file applied at scale 1. */
  static async load(file: string, threads: number, contextSize = 1024, lora?: string): Promise<LlamaCppRunner> {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: file });
    const context = await model.createContext({ contextSize, batchSize: 512, threads, ...(lora ? { lora } : {}) });
    return new LlamaCppRunner(llama, model, context, context.getSequence());
  }

  /** Evaluates `ids` from an empty sequence (the prompt's prefill). */
  async prefill(ids: number[]): Promise<void> {
    await this.seq.clearHistory();
    await this.seq.controlledEvaluate(ids.map((t) => t as Token));
  }

  /** One decode step after what is in the sequence: the greedy next token. */
  async step(id: number): Promise<number> {
    const out = await this.seq.controlledEvaluate([[id as Token, { generateNext: { token: true, options: { temperature: 0 } } }]]);
    return out[0]!.next!.token!;
  }

  /**
   * A suggestion: keep the longest prefix of the sequence shared with `prompt`, evaluate the rest,
   * then sample `maxTokens` tokens (T = 1, seeded). Returns the tokens it reused.
   */
  async suggestion(prompt: number[], maxTokens: number, seed = 1): Promise<{ reused: number; tokens: number }> {
    const have = this.seq.contextTokens;
    let n = 0;
    while (n < have.length && n < prompt.length - 1 && have[n] === prompt[n]) n++;
    if (n < have.length) await this.seq.eraseContextTokenRanges([{ start: n, end: this.seq.nextTokenIndex }]);
    const sample = { generateNext: { token: true, options: { temperature: 1, seed } } };
    const rest = prompt.slice(n).map((t, i, a) => (i === a.length - 1 ? ([t as Token, sample] as const) : (t as Token)));
    let out = await this.seq.controlledEvaluate(rest as never);
    let next = out[rest.length - 1]!.next!.token!;
    for (let i = 1; i < maxTokens; i++) {
      out = await this.seq.controlledEvaluate([[next, sample]]);
      next = out[0]!.next!.token!;
    }
    return { reused: n, tokens: maxTokens };
  }

  /** log-probabilities of the token after `ids` (llama.cpp's softmax, renormalised). */
  async nextLogProbs(ids: number[], vocab: number): Promise<Float64Array> {
    await this.seq.clearHistory();
    const out = await this.seq.controlledEvaluate(ids.map((t, i) => (i === ids.length - 1 ? [t as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] : (t as Token))) as never);
    const probs = (out[ids.length - 1] as { next: { probabilities: Map<number, number> } }).next.probabilities;
    let z = 0;
    for (const p of probs.values()) z += p;
    const lp = new Float64Array(vocab).fill(-Infinity);
    for (const [id, p] of probs) lp[id] = Math.log(p / z);
    return lp;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
