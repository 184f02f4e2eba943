/**
 * Adam's update of all variables in one native call per step (src/backend/native-train.ts,
 * `ColorganAdam`) when that kernel is registered for the current backend; else, and for
 * the first step (which creates the moments), tfjs' own AdamOptimizer.applyGradients.
 *
 * The kernel computes the same float32 operations in the same order as tfjs, so the
 * weights, moments, β products and iteration count are bit for bit what the stock
 * optimizer gives: checkpoints and bit-exact resume (src/train/gan.ts) are unchanged.
 * Looked up by name: this module is used in the browser too.
 */
import * as tf from '../util/tf.js';

const ADAM = 'ColorganAdam';

/** The AdamOptimizer state that applyGradients reads and writes (tfjs 4.22's fields). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

/** Make `opt.applyGradients` (given an array in variable order) run the native kernel where it is registered. */
export function useFastAdam(opt: tf.AdamOptimizer): void {
  const stock = opt.applyGradients.bind(opt);
  const o = opt as unknown as AdamState;
  opt.applyGradients = (variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]) => {
    if (!Array.isArray(variableGradients) || !tf.getKernel(ADAM, tf.getBackend())) return stock(variableGradients);
    const list = variableGradients.map((vg, i) => ({ i, x: tf.engine().registeredVariables[vg.name], g: vg.tensor }));
    // Until every variable has its moments (the first step creates them), and for what the
    // kernel does not take, tfjs does the step.
    const ok = list.every(
      ({ i, x, g }) =>
        x &&
        o.accumulatedFirstMoment[i] &&
        o.accumulatedSecondMoment[i] &&
        (g == null || (g.dtype === 'float32' && x.dtype === 'float32' && tf.util.arraysEqual(g.shape, x.shape))),
    );
    if (!ok) return stock(variableGradients);
    const todo = list.filter(({ g, x }) => g != null && x!.size > 0);
    tf.tidy(() => {
      const f = Math.fround;
      // As tfjs: sub(1, accBeta) in float32, and the other constants as float32 scalars.
      const acc1 = o.accBeta1.dataSync()[0]!;
      const acc2 = o.accBeta2.dataSync()[0]!;
      const inputs: tf.NamedTensorMap = {};
      todo.forEach(({ i, x, g }, k) => {
        inputs[`x${k}`] = x!;
        inputs[`m${k}`] = o.accumulatedFirstMoment[i]!.variable;
        inputs[`v${k}`] = o.accumulatedSecondMoment[i]!.variable;
        inputs[`g${k}`] = g;
      });
      const attrs = {
        count: todo.length,
        beta1: f(o.beta1),
        oneMinusBeta1: f(1 - o.beta1),
        beta2: f(o.beta2),
        oneMinusBeta2: f(1 - o.beta2),
        oneMinusAccBeta1: f(1 - acc1),
        oneMinusAccBeta2: f(1 - acc2),
        epsilon: f(o.epsilon),
        negLr: f(-o.learningRate),
      };
      const outs = tf.engine().runKernel(ADAM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      todo.forEach(({ i, x }, k) => {
        o.accumulatedFirstMoment[i]!.variable.assign(outs[3 * k + 1]!);
        o.accumulatedSecondMoment[i]!.variable.assign(outs[3 * k + 2]!);
        x!.assign(outs[3 * k]!);
      });
      o.accBeta1.assign(tf.mul(o.accBeta1, o.beta1));
      o.accBeta2.assign(tf.mul(o.accBeta2, o.beta2));
    });
    o.incrementIterations();
  };
}
