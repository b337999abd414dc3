// Model specification strings:
//   softmax:196-10                       softmax regression (one dense layer)
//   mlp:196-32-10[:relu|tanh]            dense layers, activation between them (default relu)
//   conv:14x14x1-c4k3s2[p1]-32-10[:act]  conv blocks c{channels}k{kernel}s{stride}[p{pad}]
//                                        (pad defaults to ⌊k/2⌋), each followed by the
//                                        activation, then dense layers as for mlp
// Images are channel-last (HWC) row-major, i.e. pixel (y, x, c) is at (y·W + x)·C + c.

export type Activation = 'relu' | 'tanh';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh'];

export interface ConvSpec {
  channels: number;
  kernel: number;
  stride: number;
  pad: number;
}

export interface ModelSpec {
  kind: 'softmax' | 'mlp' | 'conv';
  /** input shape [h, w, c]; for softmax/mlp [1, 1, d] */
  input: [number, number, number];
  convs: ConvSpec[];
  /** dense layer output widths, the last one is the model output dimension */
  dense: number[];
  activation: Activation;
}

export class ModelSpecError extends Error {
  readonly category = 'usage' as const;
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super(`invalid model spec '${spec}': ${reason}`);
    this.name = 'ModelSpecError';
  }
}

const MAX_DIM = 1 << 20;
/** Refuse models that could not possibly fit the host loop's dense factors. */
export const MAX_PARAMS = 50_000_000;

const SYNTAX =
  "expected 'softmax:IN-OUT', 'mlp:IN-H1-...-OUT[:relu|tanh]' or 'conv:HxWxC-cCkKsS[pP]-...-OUT[:relu|tanh]'";

function posInt(spec: string, what: string, s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new ModelSpecError(spec, `${what} '${s}' is not a positive integer`);
  const v = Number(s);
  if (v < 1 || v > MAX_DIM) throw new ModelSpecError(spec, `${what} ${s} is out of range [1, ${MAX_DIM}]`);
  return v;
}

export function convOutSize(inSize: number, c: ConvSpec): number {
  return Math.floor((inSize + 2 * c.pad - c.kernel) / c.stride) + 1;
}

export function parseModelSpec(text: string): ModelSpec {
  if (typeof text !== 'string' || text.trim() === '') throw new ModelSpecError(String(text), `empty spec; ${SYNTAX}`);
  const spec = text.trim();
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new ModelSpecError(spec, SYNTAX);
  const [kindStr, body, actStr] = parts;
  if (kindStr !== 'softmax' && kindStr !== 'mlp' && kindStr !== 'conv') {
    throw new ModelSpecError(spec, `unknown model kind '${kindStr}'; ${SYNTAX}`);
  }
  const kind = kindStr;
  let activation: Activation = 'relu';
  if (actStr !== undefined) {
    if (kind === 'softmax') throw new ModelSpecError(spec, 'softmax regression has no activation');
    if (actStr !== 'relu' && actStr !== 'tanh') {
      throw new ModelSpecError(spec, `unknown activation '${actStr}' (expected ${ACTIVATIONS.join(' or ')})`);
    }
    activation = actStr;
  }
  const toks = body.split('-');
  if (toks.some((t) => t === '')) throw new ModelSpecError(spec, `empty layer in '${body}'`);

  let input: [number, number, number];
  const convs: ConvSpec[] = [];
  let rest: string[];
  if (kind === 'conv') {
    const m = /^([0-9]+)x([0-9]+)x([0-9]+)$/.exec(toks[0]);
    if (!m) throw new ModelSpecError(spec, `conv input '${toks[0]}' must be HxWxC, e.g. 14x14x1`);
    input = [posInt(spec, 'input height', m[1]), posInt(spec, 'input width', m[2]), posInt(spec, 'input channels', m[3])];
    let i = 1;
    let h = input[0];
    let w = input[1];
    for (; i < toks.length && toks[i].startsWith('c'); i++) {
      const cm = /^c([0-9]+)k([0-9]+)s([0-9]+)(?:p([0-9]+))?$/.exec(toks[i]);
      if (!cm) throw new ModelSpecError(spec, `conv layer '${toks[i]}' must be cCkKsS[pP], e.g. c4k3s2`);
      const kernel = posInt(spec, 'kernel size', cm[2]);
      const c: ConvSpec = {
        channels: posInt(spec, 'conv channels', cm[1]),
        kernel,
        stride: posInt(spec, 'stride', cm[3]),
        pad: cm[4] === undefined ? Math.floor(kernel / 2) : Number(cm[4]),
      };
      if (c.pad >= kernel) throw new ModelSpecError(spec, `padding ${c.pad} of '${toks[i]}' must be smaller than the kernel ${kernel}`);
      const oh = convOutSize(h, c);
      const ow = convOutSize(w, c);
      if (oh < 1 || ow < 1) throw new ModelSpecError(spec, `conv layer '${toks[i]}' does not fit its ${h}x${w} input`);
      h = oh;
      w = ow;
      convs.push(c);
    }
    if (convs.length === 0) throw new ModelSpecError(spec, 'conv model needs at least one conv layer cCkKsS after the input shape');
    rest = toks.slice(i);
    if (rest.length < 1) throw new ModelSpecError(spec, 'conv model needs at least the output width after the conv layers');
  } else {
    if (toks.length < 2) throw new ModelSpecError(spec, 'need at least an input and an output width');
    if (kind === 'softmax' && toks.length !== 2) throw new ModelSpecError(spec, 'softmax regression takes exactly IN-OUT');
    input = [1, 1, posInt(spec, 'input width', toks[0])];
    rest = toks.slice(1);
  }
  const dense = rest.map((t) => posInt(spec, 'layer width', t));
  const ms: ModelSpec = { kind, input, convs, dense, activation };
  const n = countParams(ms);
  if (n > MAX_PARAMS) throw new ModelSpecError(spec, `${n} parameters exceed the limit of ${MAX_PARAMS}`);
  return ms;
}

export function countParams(ms: ModelSpec): number {
  let [h, w, c] = ms.input;
  let n = 0;
  for (const cv of ms.convs) {
    n += cv.channels * (cv.kernel * cv.kernel * c + 1);
    h = convOutSize(h, cv);
    w = convOutSize(w, cv);
    c = cv.channels;
  }
  let d = h * w * c;
  for (const width of ms.dense) {
    n += width * (d + 1);
    d = width;
  }
  return n;
}

/** Canonical text of a spec (explicit padding, explicit activation). */
export function formatModelSpec(ms: ModelSpec): string {
  if (ms.kind === 'softmax') return `softmax:${ms.input[2]}-${ms.dense[0]}`;
  if (ms.kind === 'mlp') return `mlp:${[ms.input[2], ...ms.dense].join('-')}:${ms.activation}`;
  const convs = ms.convs.map((c) => `c${c.channels}k${c.kernel}s${c.stride}p${c.pad}`);
  return `conv:${ms.input.join('x')}-${[...convs, ...ms.dense].join('-')}:${ms.activation}`;
}
