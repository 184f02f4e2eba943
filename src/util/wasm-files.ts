/**
 * Where `@tensorflow/tfjs-backend-wasm` keeps its files on disk (Node): the package folder
 * (the threaded glue and worker, see backend/threads.ts) and dist/ with the .wasm binaries
 * (handed to setWasmPaths by backend/node.ts, copied into the web build by web/vite.config.ts).
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export function wasmPackageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

/** The .wasm binaries' folder, ending in a separator (setWasmPaths takes a prefix). */
export function wasmDistDir(): string {
  return `${path.join(wasmPackageDir(), 'dist')}${path.sep}`;
}
