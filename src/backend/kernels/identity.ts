/**
 * Identity without a copy. The engine clones every tensor it saves for the backward pass
 * (engine.clone → Identity): the stock wasm kernel copies the data (234 copies, ~6% of an
 * advanced training step), the cpu backend shares it. Tensors are immutable — every kernel
 * here, ours included, writes only to outputs it allocates — so sharing the buffer with a
 * reference count, as the wasm Reshape does, is what the copy guaranteed.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '../../util/tf.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

function identity(args: { inputs: { x: TensorInfo }; backend: RefCountingBackend }): TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
