/** Kernels of ours registered on top of tfjs-backend-wasm (shared by Node and the browser). */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const cfg of [conv2dBackpropFilterConfig]) {
    if (tf.getKernel(cfg.kernelName, cfg.backendName)) tf.unregisterKernel(cfg.kernelName, cfg.backendName);
    tf.registerKernel(cfg);
  }
}
