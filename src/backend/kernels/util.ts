/**
 * Helpers for writing wasm kernels out of the backend's own kernels.
 * Inside a kernel we must free every temporary we create (disposeData), since the
 * engine only tracks the kernel's returned output.
 */
import * as tf from '../../util/tf.js';
import type { TensorInfo, NamedAttrMap, KernelBackend, DataId } from '../../util/tf.js';

/** The parts of tfjs-backend-wasm's BackendWasm that our kernels use. */
export interface WasmBackendLike extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  dataIdMap: { get(dataId: DataId): { memoryOffset: number } | undefined; has(dataId: DataId): boolean };
  wasm: { HEAPU8: Uint8Array; wasmMemory?: WebAssembly.Memory };
}

/**
 * The whole wasm memory. With threads it is a growable SharedArrayBuffer: the memory's
 * current buffer, not a possibly stale view, covers all of it.
 */
export function wasmHeapBuffer(backend: WasmBackendLike): ArrayBufferLike {
  return backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
}

/** Call another kernel of the wasm backend directly (no engine bookkeeping). */
export function callKernel(name: string, backend: KernelBackend, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`kernel ${name} is not registered for wasm`);
  return k.kernelFunc({ inputs, backend, attrs: attrs as NamedAttrMap }) as TensorInfo;
}

/** Free temporaries created inside a kernel (a reshape's dataId included). */
export function release(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}
