// The model's state in words, for the status bar item (a few words next to the trainer state) and
// its tooltip (one sentence that is true in that state). Pure (no 'vscode'); presentation.ts uses it.
import type { model } from '../../protocol';

/** A short form for the status bar: "no model", "loading model 40%", "model failed", or the name. */
export function modelShort(m: model.ModelState): string {
  switch (m.kind) {
    case 'none':
      return 'no model';
    case 'loading':
      return m.fraction !== undefined ? `loading model ${Math.round(m.fraction * 100)}%` : 'loading model';
    case 'failed':
      return 'model failed';
    case 'ready':
      return shorten(m.facts.name, 28);
  }
}

/** One sentence for the tooltip and the status view's summary. */
export function modelSentence(m: model.ModelState): string {
  switch (m.kind) {
    case 'none':
      return 'No model is set, so there are no suggestions and no training. Run "Hindsight: Download a model…" (it asks first) or "Hindsight: Use a local model folder…".';
    case 'loading':
      return `Loading the model ${m.name}: ${m.step}${m.fraction !== undefined ? ` (${Math.round(m.fraction * 100)}%)` : ''}. Suggestions start when it is ready.`;
    case 'failed':
      return `The model in ${m.path} could not be loaded: ${m.reason}. Choose another folder ("Hindsight: Use a local model folder…") or fix this one; there are no suggestions until then.`;
    case 'ready':
      return `Model ${m.facts.name}: ${modelSize(m.facts)}, ${precisionText(m)} on ${deviceText(m.device)}; loaded in ${seconds(m.loadMs)}.`;
  }
}

/** "494M parameters, 988 MB (BF16)". */
export function modelSize(f: model.ModelFacts): string {
  return `${countText(f.parameters)} parameters, ${bytesText(f.bytes)} (${f.dtype})`;
}

/** How the weights are served: 4-bit (converted here) or as stored, with the compute precision. */
export function precisionText(m: Extract<model.ModelState, { kind: 'ready' }>): string {
  return m.weights === 'q4' ? `served with 4-bit weights (${m.compute} compute)` : `served at ${m.compute}`;
}

export function deviceText(device: string): string {
  return device === 'cpu' ? 'the CPU' : device === 'cuda' ? 'the GPU (CUDA)' : device === 'webgpu' ? 'the GPU (WebGPU)' : device;
}

export function countText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${Math.round(n / 1e6)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

export function bytesText(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function shorten(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
