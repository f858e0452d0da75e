// What "Hindsight: Export adapter for llama.cpp / Ollama…" offers and says. Pure (no 'vscode'):
// src/learn/register.ts shows them.
import type { learn } from '../../protocol';

export interface ExportChoice {
  label: string;
  description: string;
  detail: string;
  exportKind: learn.ExportGgufParams['kind'];
  weights: NonNullable<learn.ExportGgufParams['weights']>;
}

export const EXPORT_CHOICES: ExportChoice[] = [
  { label: 'Merged model, 4-bit', description: 'one GGUF file (Q4_0)', detail: 'The model with the adapter merged in; the smallest file, fast on a CPU. For Ollama, LM Studio, llama.cpp.', exportKind: 'merged', weights: 'q4_0' },
  { label: 'Merged model, 16-bit', description: 'one GGUF file (F16)', detail: 'The model with the adapter merged in, at full quality.', exportKind: 'merged', weights: 'f16' },
  { label: 'Adapter + base model', description: 'a GGUF LoRA and the base model (F16)', detail: "For llama.cpp's --lora or an Ollama Modelfile's ADAPTER, on top of the same base model.", exportKind: 'adapter', weights: 'f16' },
];

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/** The message after an export: what was written and how to use it. */
export function exportDoneMessage(r: learn.ExportGgufResult, kind: learn.ExportGgufParams['kind']): string {
  const files = r.files.map((f) => `${f.path} (${mb(f.bytes)}): ${f.what}`).join('; ');
  return `Hindsight: exported ${r.version ? `adapter v${r.version}` : 'the base model'} as GGUF: ${files}. ${usage(r, kind)}`;
}

/** How to run what was exported, with llama.cpp's server and Ollama. */
export function usage(r: learn.ExportGgufResult, kind: learn.ExportGgufParams['kind']): string {
  const base = r.files.find((f) => !f.path.endsWith('-lora.gguf'))?.path ?? '';
  const lora = r.files.find((f) => f.path.endsWith('-lora.gguf'))?.path;
  if (kind === 'adapter' && lora) return `Run it with: llama-server -m "${base}" --lora "${lora}" — or in an Ollama Modelfile: FROM ${base} then ADAPTER ${lora}.`;
  return `Run it with: llama-server -m "${base}" — or in an Ollama Modelfile: FROM ${base}.`;
}
