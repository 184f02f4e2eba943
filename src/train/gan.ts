/**
 * One conditional-GAN training step (tensors live here and nowhere else in training).
 *
 *   G step: fake = G(y, z);  L_G = BCE(D(y, fake), real) + λ·|fake − uv|₁ (+ diversity term)
 *   D step: L_D = ½·[BCE(D(y, uv), real) + BCE(D(y, fake), fake)]
 *
 * The G step runs first and keeps `fake`, so the D step reuses it instead of running
 * G a second time. λ = 0 is the paper's pure-GAN run; λ > 0 adds its image-space term
 * against "color divergence".
 *
 * Diversity (optional, our addition): the paper saw no difference between samples for
 * different z. With weight μ > 0 the G step also generates fake₂ = G(y, z₂) and adds the
 * mode-seeking term of Mao et al. (2019), μ / (mean|fake − fake₂| / mean|z − z₂| + ε), which
 * pushes different z to different colorizations; the L1 term then uses the mean of the two.
 */
import * as tf from '@tensorflow/tfjs';

type NamedTensor = { name: string; tensor: tf.Tensor };
import { useFastBatchNorm } from '../models/batchnorm.js';

export interface GanHyper {
  l1: number;
  lr: number;
  beta1: number;
  diversity: number;
}

export interface StepLosses {
  /** G's adversarial loss (non-saturating BCE). */
  gAdv: number;
  /** Mean absolute error of G's U,V, network scale. */
  l1: number;
  /** D's loss (mean of the real and fake BCE). */
  d: number;
  /** Mean |fake − fake₂| between two z (only when diversity > 0). */
  div?: number;
}

export interface Batch {
  y: Float32Array; // n·S·S
  uv: Float32Array; // n·S·S·2
  z: Float32Array; // n·zDim
  z2?: Float32Array; // n·zDim, only with diversity
  n: number;
}

const bce = (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;

export class GanStep {
  readonly gOpt: tf.AdamOptimizer;
  readonly dOpt: tf.AdamOptimizer;
  private readonly gVars: tf.Variable[];
  private readonly dVars: tf.Variable[];

  constructor(readonly G: tf.LayersModel, readonly D: tf.LayersModel, readonly size: number, readonly zDim: number, readonly hp: GanHyper) {
    useFastBatchNorm(G);
    useFastBatchNorm(D);
    this.gOpt = tf.train.adam(hp.lr, hp.beta1, 0.999) as tf.AdamOptimizer;
    this.dOpt = tf.train.adam(hp.lr, hp.beta1, 0.999) as tf.AdamOptimizer;
    this.gVars = G.trainableWeights.map((w) => w.read() as tf.Variable);
    this.dVars = D.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  step(b: Batch): StepLosses {
    const S = this.size;
    const { l1: lambda, diversity } = this.hp;
    let result!: StepLosses;
    tf.tidy(() => {
      const y = tf.tensor4d(b.y, [b.n, S, S, 1]);
      const uv = tf.tensor4d(b.uv, [b.n, S, S, 2]);
      const z = tf.tensor2d(b.z, [b.n, this.zDim]);
      const ones = tf.ones([b.n, 1]);
      const zeros = tf.zeros([b.n, 1]);

      let fake!: tf.Tensor4D;
      let gAdv!: tf.Scalar, l1!: tf.Scalar, div: tf.Scalar | undefined;
      this.gOpt.minimize(
        () => {
          const f = this.G.apply([y, z], { training: true }) as tf.Tensor4D;
          fake = tf.keep(f);
          gAdv = tf.keep(bce(ones, this.D.apply([y, f], { training: true }) as tf.Tensor));
          let loss: tf.Tensor = gAdv;
          if (diversity > 0 && b.z2) {
            const z2 = tf.tensor2d(b.z2, [b.n, this.zDim]);
            const f2 = this.G.apply([y, z2], { training: true }) as tf.Tensor4D;
            const dImg = tf.mean(tf.abs(tf.sub(f, f2)));
            const dZ = tf.mean(tf.abs(tf.sub(z, z2)));
            div = tf.keep(dImg) as tf.Scalar;
            loss = tf.add(loss, tf.mul(diversity, tf.div(1, tf.add(tf.div(dImg, dZ), 1e-5))));
            l1 = tf.keep(tf.mul(0.5, tf.add(tf.mean(tf.abs(tf.sub(f, uv))), tf.mean(tf.abs(tf.sub(f2, uv))))));
          } else {
            l1 = tf.keep(tf.mean(tf.abs(tf.sub(f, uv))));
          }
          if (lambda > 0) loss = tf.add(loss, tf.mul(lambda, l1));
          return loss as tf.Scalar;
        },
        true, // returnCost: with false, minimize disposes the cost, which may be gAdv itself
        this.gVars,
      );

      const dLoss = this.dOpt.minimize(
        () => {
          const real = this.D.apply([y, uv], { training: true }) as tf.Tensor;
          const fk = this.D.apply([y, fake], { training: true }) as tf.Tensor;
          return tf.mul(0.5, tf.add(bce(ones, real), bce(zeros, fk))) as tf.Scalar;
        },
        true,
        this.dVars,
      )!;
      const vals = tf.stack(div ? [gAdv, l1, dLoss, div] : [gAdv, l1, dLoss]).dataSync();
      // Everything kept above is released when this tidy ends (keep only protects
      // against the inner minimize scopes).
      for (const t of [fake, gAdv, l1, div]) t?.dispose();
      result = { gAdv: vals[0], l1: vals[1], d: vals[2] };
      if (div) result.div = vals[3];
    });
    return result;
  }

  /** Adam states of both optimizers (for checkpoints). */
  async optimizerWeights(): Promise<{ g: NamedTensor[]; d: NamedTensor[] }> {
    return { g: await this.gOpt.getWeights(), d: await this.dOpt.getWeights() };
  }

  async setOptimizerWeights(g: NamedTensor[], d: NamedTensor[]): Promise<void> {
    await this.gOpt.setWeights(g);
    await this.dOpt.setWeights(d);
  }

  dispose(): void {
    this.gOpt.dispose();
    this.dOpt.dispose();
  }
}
