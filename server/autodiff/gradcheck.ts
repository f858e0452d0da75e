// Finite-difference checks for generated backward graphs: the analytic gradient (run by
// onnxruntime from the graph gradients() appended) against central differences of the loss,
// on inputs fed at run time. Used by the unit tests; float64 keeps truncation and rounding
// error far below the 1e-4 tolerance. Not a training utility.
import * as ort from 'onnxruntime-node';
import type { Graph, Value } from '../graph/builder';
import { gradients } from './gradients';
import { randomArray } from '../train/random';

export { seededRandom, randomArray } from '../train/random';

export interface CheckInput {
  value: Value;
  data: Float64Array | Float32Array;
  /** Differentiate w.r.t. this input (default true). Others are fed unchanged (e.g. indices). */
  wrt?: boolean;
}

export interface GradcheckResult {
  /** Per checked input: ||analytic − numeric|| / max(||analytic|| + ||numeric||, tiny), over checked coordinates. */
  relErr: Record<string, number>;
  maxRelErr: number;
  /** Analytic gradients (full) by input name. */
  analytic: Record<string, Float64Array>;
}

export interface GradcheckOptions {
  /** Central-difference step (default 1e-6; use ~1e-3 for float32). */
  h?: number;
  /** At most this many coordinates per input (chosen with a fixed stride), default all. */
  maxCoords?: number;
}

/** Non-graph feeds (int64 indices, bool masks) for inputs not differentiated. */
export type ExtraFeeds = Record<string, ort.Tensor>;

const dims = (v: Value): number[] => {
  if (!v.shape || v.shape.some((d) => typeof d !== 'number')) throw new Error(`gradcheck: input '${v.name}' needs a static shape`);
  return v.shape as number[];
};

/**
 * Append gradients of the scalar `loss` w.r.t. the inputs marked wrt, run once for the
 * analytic values, then perturb each checked coordinate by ±h.
 */
export async function gradcheck(g: Graph, loss: Value, inputs: CheckInput[], extra: ExtraFeeds = {}, opts: GradcheckOptions = {}): Promise<GradcheckResult> {
  const h = opts.h ?? 1e-6;
  const wrt = inputs.filter((i) => i.wrt !== false);
  const grads = gradients(g, loss, wrt.map((i) => i.value));
  g.output(loss, 'gradcheck.loss');
  for (const w of wrt) g.output(grads.get(w.value.name)!, `gradcheck.d.${w.value.name}`);
  // ORT's extended fusions turn x·sigmoid(x) into QuickGelu, which has no float64 kernel
  const session = await ort.InferenceSession.create(g.encode(), { graphOptimizationLevel: 'basic' });
  try {
    const tensor = (i: CheckInput, data = i.data) => new ort.Tensor(i.value.dtype as 'float32' | 'float64', data, dims(i.value));
    const feeds = (): Record<string, ort.Tensor> => ({ ...extra, ...Object.fromEntries(inputs.map((i) => [i.value.name, tensor(i)])) });
    const full = await session.run(feeds());
    const lossAt = async (f: Record<string, ort.Tensor>) => Number((await session.run(f, ['gradcheck.loss']))['gradcheck.loss'].data[0]);
    const relErr: Record<string, number> = {};
    const analytic: Record<string, Float64Array> = {};
    for (const w of wrt) {
      const a = Float64Array.from(full[`gradcheck.d.${w.value.name}`].data as Float64Array);
      analytic[w.value.name] = a;
      const n = w.data.length;
      const count = Math.min(n, opts.maxCoords ?? n);
      const stride = n / count;
      let diff = 0, na = 0, nn = 0;
      for (let c = 0; c < count; c++) {
        const k = Math.floor(c * stride);
        const orig = w.data[k];
        const f = feeds();
        const pert = w.data.slice() as Float64Array | Float32Array;
        pert[k] = orig + h;
        f[w.value.name] = tensor(w, pert);
        const up = await lossAt(f);
        pert[k] = orig - h;
        f[w.value.name] = tensor(w, pert);
        const down = await lossAt(f);
        const num = (up - down) / (2 * h);
        diff += (a[k] - num) ** 2;
        na += a[k] ** 2;
        nn += num ** 2;
      }
      relErr[w.value.name] = Math.sqrt(diff) / Math.max(Math.sqrt(na) + Math.sqrt(nn), 1e-30);
    }
    return { relErr, maxRelErr: Math.max(0, ...Object.values(relErr)), analytic };
  } finally {
    await session.release();
  }
}

/** Sum(out · R) for a fixed random R shaped like `out`: a scalar whose gradient dy = R is not uniform. */
export function weightedSum(g: Graph, out: Value, seed = 7): Value {
  const shape = dims(out);
  const n = shape.reduce((a, b) => a * b, 1);
  const R = g.constant(Array.from(randomArray(n, seed)), out.dtype, shape);
  return g.reduceSum(g.mul(out, R), shape.map((_, i) => i), false);
}
