/**
 * Threaded wasm in Node. tfjs disables it in Node; see enableNodeThreads.
 * (Placeholder: single-threaded until the threading work lands.)
 */
export async function enableNodeThreads(_threads?: number): Promise<number> {
  return 1;
}
