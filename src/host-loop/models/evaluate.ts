// Loss and accuracy of a model over a whole data set, in chunks so that scratch memory stays
// bounded for the full 60k-sample sets.

import type { Dataset } from '../data/dataset.ts';
import type { Model } from './model.ts';
import { accuracy, lossForward, type LossKind } from './losses.ts';

export class ModelDataMismatchError extends Error {
  readonly category = 'usage' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ModelDataMismatchError';
  }
}

/** Throws a clear error if the model's input or output size does not fit the data set. */
export function assertModelFitsData(model: Model, ds: Pick<Dataset, 'd' | 'classes' | 'shape'>): void {
  if (model.inputDim !== ds.d) {
    throw new ModelDataMismatchError(`model ${model.name} takes ${model.inputDim} inputs but the data has ${ds.d} (${ds.shape.join('×')}) per sample`);
  }
  if (model.outputDim !== ds.classes) {
    throw new ModelDataMismatchError(`model ${model.name} has ${model.outputDim} outputs but the data has ${ds.classes} classes`);
  }
  const [h, w, c] = model.spec.input;
  if (model.spec.kind === 'conv' && (h !== ds.shape[0] || w !== ds.shape[1] || c !== ds.shape[2])) {
    throw new ModelDataMismatchError(`model ${model.name} expects ${h}×${w}×${c} images but the data is ${ds.shape.join('×')}`);
  }
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  n: number;
}

export function evaluate(model: Model, params: Float64Array, ds: Dataset, loss: LossKind, chunk = 1000): Evaluation {
  assertModelFitsData(model, ds);
  let lossSum = 0;
  let hits = 0;
  for (let s = 0; s < ds.n; s += chunk) {
    const m = Math.min(chunk, ds.n - s);
    const X = ds.x.subarray(s * ds.d, (s + m) * ds.d);
    const y = ds.y.subarray(s, s + m);
    const z = model.forward(params, X, m);
    lossSum += lossForward(loss, z, y, m, model.outputDim) * m;
    hits += Math.round(accuracy(z, y, m, model.outputDim) * m);
  }
  return { loss: lossSum / ds.n, accuracy: hits / ds.n, n: ds.n };
}
