/**
 * The page's test hook, `window.__colorgan` (types only): set by ./main.ts, read by
 * test/web.e2e.test.ts and benchmarks through the browser. One declaration for both
 * sides, so the test is type-checked against what the page provides.
 */

export interface Timings {
  decodeMs: number;
  colorizeMs: number;
  drawMs: number;
}

export interface HookResult {
  width: number;
  height: number;
  /** Interleaved RGB bytes, base64. */
  data: string;
  timings: Timings | null;
  backend: string;
}

export interface ColorganHook {
  /** The backend; `threads`: wasm threads in use (0 for other backends). */
  ready: Promise<{ backend: string; detail: string; threads: number }>;
  /** The selected photo's shown colorization at full resolution (from the worker), or null. */
  lastResult(): Promise<HookResult | null>;
  /** Colorize without the UI (tests, benchmarks); `repeat` times, reporting each run's time. */
  colorizeFromUrl(url: string, seed?: number, sample?: number, repeat?: number, renderSize?: number): Promise<HookResult & { runsMs: number[] }>;
}

declare global {
  interface Window {
    __colorgan: ColorganHook;
  }
}
