// The measured MatMul roofline: best fp32 GFLOP/s of one [M,K]×[K,N] product on this machine, the
// reference that training throughput is reported against (bench:train, starter pretraining).
import * as ort from 'onnxruntime-node';
import { Graph } from '../server/graph/builder';
import { seededRandom } from '../server/train/random';

/** Default shape: the largest projection of the 0.5B model at 512 tokens ([512, 896] @ [896, 4864]). */
export async function matmulGflops(threads: number, [M, K, N]: [number, number, number] = [512, 896, 4864]): Promise<number> {
  const g = new Graph('mm');
  const a = g.input('a', 'float32', [M, K]);
  const b = g.input('b', 'float32', [K, N]);
  g.output(g.matmul(a, b), 'y');
  const s = await ort.InferenceSession.create(g.encode(), { intraOpNumThreads: threads });
  const r = seededRandom(1);
  const feeds = { a: new ort.Tensor('float32', Float32Array.from({ length: M * K }, r), [M, K]), b: new ort.Tensor('float32', Float32Array.from({ length: K * N }, r), [K, N]) };
  for (let i = 0; i < 3; i++) await s.run(feeds);
  let best = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await s.run(feeds);
    best = Math.min(best, (performance.now() - t0) / 5);
  }
  await s.release();
  return (2 * M * K * N) / (best / 1e3) / 1e9;
}
