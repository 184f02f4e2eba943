/** Kernels of ours registered on top of tfjs-backend-wasm (shared by Node and the browser). */
import * as tf from '../../util/tf.js';
import type { KernelConfig } from '../../util/tf.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { identityConfig } from './identity.js';

let registered = false;

/** Our kernels, in registration order. */
export const wasmKernelConfigs: readonly KernelConfig[] = [conv2dBackpropFilterConfig, conv2dBackpropInputConfig, identityConfig];

/** The backend's own kernels that ours replaced (for benchmarks and comparisons). */
const stock = new Map<string, KernelConfig>();

export function stockWasmKernel(kernelName: string): KernelConfig | undefined {
  return stock.get(kernelName);
}

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const cfg of wasmKernelConfigs) {
    const old = tf.getKernel(cfg.kernelName, cfg.backendName);
    if (old) {
      stock.set(cfg.kernelName, { ...old } as KernelConfig);
      tf.unregisterKernel(cfg.kernelName, cfg.backendName);
    }
    tf.registerKernel(cfg);
  }
}
