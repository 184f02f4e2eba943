/**
 * Messages between the page (main.ts) and the worker (worker.ts) that does all decoding
 * and colorizing, so the page's main thread only draws small previews and stays
 * responsive. One declaration for both sides.
 */

/** What a colorization depends on (besides the photo): same params, same pixels. */
export interface RenderParams {
  seed: number;
  sample: number;
  /** Short side of the model grid; undefined = the model's training size. */
  renderSize?: number;
  /** Chroma gain; undefined = the model's default. */
  saturation?: number;
}

export const paramsKey = (p: RenderParams) => `${p.seed}/${p.sample}/${p.renderSize ?? ''}/${p.saturation ?? ''}`;

/** A photo the worker may have decoded already (`id`), with its file for when it has not. */
export interface PhotoRef {
  id: number;
  file: Blob;
}

export type WorkerRequest =
  | { type: 'init'; base: string; backend: string | null }
  /** Colorize at full resolution; answer previews of at most `preview` px on the long side. */
  | { type: 'colorize'; job: number; photo: PhotoRef; params: RenderParams; preview: number; before: boolean }
  /** Colorizations of a small copy for `samples` (side by side suggestions), `size` px long side. */
  | { type: 'suggest'; job: number; photo: PhotoRef; params: RenderParams; samples: number[]; size: number }
  /** The full-resolution colorization as PNG. */
  | { type: 'png'; job: number; photo: PhotoRef; params: RenderParams }
  /** The full-resolution colorization as RGB bytes (test hook). */
  | { type: 'pixels'; job: number; photo: PhotoRef; params: RenderParams }
  /** Fetch, decode and colorize `repeat` times without the UI (tests, benchmarks). */
  | { type: 'run-url'; job: number; url: string; params: RenderParams; repeat: number }
  | { type: 'forget'; photo: number };

export interface BackendInfo {
  name: string;
  /** Human-readable details (renderer, threads, SIMD). */
  detail: string;
  /** wasm threads in use (1 when the page is not cross-origin isolated); 0 for other backends. */
  threads: number;
}

export type Stage = 'reading' | 'model' | 'full-resolution' | 'preview' | 'encoding';

export type WorkerResponse =
  | {
      type: 'ready';
      backend: BackendInfo;
      defaultSaturation: number;
      maxSaturation: number;
      modelSize: number;
      maxPixels: number;
      /** How much finer the model's refinement stages make its chroma grid (2 per stage; 1: none). */
      refineScale: number;
    }
  | { type: 'init-error'; message: string }
  | { type: 'model-progress'; fraction: number }
  | { type: 'stage'; job: number; stage: Stage }
  | {
      type: 'colorized';
      job: number;
      photo: number;
      width: number;
      height: number;
      format: string;
      hasColor: boolean;
      /** Gray input preview (when asked for). */
      before?: ImageBitmap;
      after: ImageBitmap;
      timings: { decodeMs: number; colorizeMs: number; drawMs: number };
    }
  | { type: 'suggestions'; job: number; photo: number; images: ImageBitmap[] }
  | { type: 'png'; job: number; blob: Blob }
  | {
      type: 'pixels';
      job: number;
      width: number;
      height: number;
      data: ArrayBuffer;
      timings?: { decodeMs: number; colorizeMs: number; drawMs: number };
      runsMs?: number[];
    }
  /** `input`: the photo itself is unusable (message for the user), else an internal failure. */
  | { type: 'error'; job: number; message: string; input: boolean };
