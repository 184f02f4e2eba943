/**
 * Helpers for writing wasm kernels out of the backend's own kernels.
 * Inside a kernel we must free every temporary we create (disposeData), since the
 * engine only tracks the kernel's returned output.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorInfo, NamedAttrMap, KernelBackend } from '@tensorflow/tfjs';

/** Call another kernel of the wasm backend directly (no engine bookkeeping). */
export function callKernel(
  name: string,
  backend: KernelBackend,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`kernel ${name} is not registered for wasm`);
  return k.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

/** Free temporaries created inside a kernel (a reshape's dataId included). */
export function release(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}
