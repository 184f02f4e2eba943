/**
 * The page's worker: decoding (createImageBitmap + OffscreenCanvas), the model and the
 * full-resolution colorization (colorizeImage, shared with the CLI) all run here, so the
 * page's main thread never blocks on a photo. Requests are handled one at a time in
 * arrival order (the page sends the next one when an answer comes); decoded photos are
 * kept for re-runs (another sample, saturation, detail) within a pixel budget.
 */
import type { RgbImage } from '../../src/color/yuv.js';
import { colorizeImage, colorizeImageSamples, type Colorizer } from '../../src/infer/colorizer.js';
import { MAX_SATURATION } from '../../src/infer/limits.js';
import { REFINE_FACTOR } from '../../src/models/refine.js';
import { decodePhoto, InputError, MAX_PIXELS, previewSize, toImageData, type Decoded } from './decode.js';
import { initBackend, loadColorizer } from './model.js';
import { paramsKey, type PhotoRef, type RenderParams, type Stage, type WorkerRequest, type WorkerResponse } from './protocol.js';

const scope = self as unknown as {
  postMessage(m: WorkerResponse, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};
const post = (m: WorkerResponse, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let colorizer: Promise<Colorizer> | null = null;

interface Entry {
  photo: Decoded;
  decodeMs: number;
  /** The last full-resolution colorization and what it was made with. */
  out?: { key: string; rgb: RgbImage };
}
/** Decoded photos, least recently used first. */
const cache = new Map<number, Entry>();
/** Pixels of decoded photos kept (the newest is kept whatever its size). */
const CACHE_PIXELS = 60_000_000;

async function entry(ref: PhotoRef, job: number): Promise<Entry> {
  let e = cache.get(ref.id);
  if (e) {
    cache.delete(ref.id);
  } else {
    stage(job, 'reading');
    const t0 = performance.now();
    const photo = await decodePhoto(ref.file);
    e = { photo, decodeMs: performance.now() - t0 };
  }
  cache.set(ref.id, e);
  let pixels = 0;
  for (const [id, x] of [...cache].reverse()) {
    pixels += x.photo.img.width * x.photo.img.height;
    if (pixels > CACHE_PIXELS && id !== ref.id) cache.delete(id);
  }
  return e;
}

const stage = (job: number, s: Stage) => post({ type: 'stage', job, stage: s });

/** The full-resolution colorization of a photo (reused when the params are the same). */
function colorized(c: Colorizer, e: Entry, params: RenderParams, job: number): { rgb: RgbImage; ms: number } {
  const key = paramsKey(params);
  if (e.out?.key === key) return { rgb: e.out.rgb, ms: 0 };
  e.out = undefined; // free the old one first
  const t0 = performance.now();
  stage(job, 'model');
  const col = colorizeImage(c, e.photo.img, params);
  stage(job, 'full-resolution');
  const rgb = col.rgb;
  e.out = { key, rgb };
  return { rgb, ms: performance.now() - t0 };
}

function bitmap(img: RgbImage, maxSide: number, gray = false): Promise<ImageBitmap> {
  const { width, height } = previewSize(img.width, img.height, maxSide);
  return createImageBitmap(toImageData(img, width, height, gray));
}

async function fullCanvas(rgb: RgbImage): Promise<OffscreenCanvas> {
  const canvas = new OffscreenCanvas(rgb.width, rgb.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('not enough memory for a canvas of this size');
  ctx.putImageData(toImageData(rgb), 0, 0);
  return canvas;
}

async function handle(req: Exclude<WorkerRequest, { type: 'init' }>, c: Colorizer): Promise<void> {
  switch (req.type) {
    case 'forget':
      cache.delete(req.photo);
      return;
    case 'colorize': {
      const e = await entry(req.photo, req.job);
      const { rgb, ms } = colorized(c, e, req.params, req.job);
      stage(req.job, 'preview');
      const t1 = performance.now();
      const after = await bitmap(rgb, req.preview);
      const before = req.before ? await bitmap(e.photo.img, req.preview, true) : undefined;
      const { img, format, hasColor } = e.photo;
      post(
        {
          type: 'colorized',
          job: req.job,
          photo: req.photo.id,
          width: img.width,
          height: img.height,
          format,
          hasColor,
          before,
          after,
          timings: { decodeMs: e.decodeMs, colorizeMs: ms, drawMs: performance.now() - t1 },
        },
        before ? [after, before] : [after],
      );
      return;
    }
    case 'suggest': {
      const e = await entry(req.photo, req.job);
      stage(req.job, 'model');
      const cols = colorizeImageSamples(c, e.photo.small, req.samples.length, { ...req.params, sample: req.samples[0] });
      const images = await Promise.all(cols.map((col) => bitmap(col.rgb, req.size)));
      post({ type: 'suggestions', job: req.job, photo: req.photo.id, images }, images);
      return;
    }
    case 'png': {
      const e = await entry(req.photo, req.job);
      const { rgb } = colorized(c, e, req.params, req.job);
      stage(req.job, 'encoding');
      const blob = await (await fullCanvas(rgb)).convertToBlob({ type: 'image/png' });
      post({ type: 'png', job: req.job, blob });
      return;
    }
    case 'pixels': {
      const e = await entry(req.photo, req.job);
      const { rgb, ms } = colorized(c, e, req.params, req.job);
      const data = rgb.data.slice().buffer;
      post({ type: 'pixels', job: req.job, width: rgb.width, height: rgb.height, data, timings: { decodeMs: e.decodeMs, colorizeMs: ms, drawMs: 0 } }, [data]);
      return;
    }
    case 'run-url': {
      const t0 = performance.now();
      const res = await fetch(req.url);
      if (!res.ok) throw new Error(`${req.url}: HTTP ${res.status}`);
      const photo = await decodePhoto(await res.blob());
      const decodeMs = performance.now() - t0;
      const runsMs: number[] = [];
      let out: RgbImage | null = null;
      for (let i = 0; i < Math.max(1, req.repeat); i++) {
        const t = performance.now();
        out = colorizeImage(c, photo.img, req.params).rgb;
        runsMs.push(performance.now() - t);
      }
      const data = out!.data.slice().buffer;
      post({ type: 'pixels', job: req.job, width: out!.width, height: out!.height, data, runsMs, timings: { decodeMs, colorizeMs: runsMs[0], drawMs: 0 } }, [
        data,
      ]);
      return;
    }
  }
}

let queue: Promise<void> = Promise.resolve();

scope.onmessage = (ev) => {
  const req = ev.data;
  if (req.type === 'init') {
    colorizer = (async () => {
      const backend = await initBackend(req.base, req.backend);
      const c = await loadColorizer(req.base, (fraction) => post({ type: 'model-progress', fraction }));
      post({
        type: 'ready',
        backend,
        defaultSaturation: c.meta.inference?.saturation ?? 1,
        maxSaturation: MAX_SATURATION,
        modelSize: c.meta.config.size,
        maxPixels: MAX_PIXELS,
        refineScale: REFINE_FACTOR ** (c.refine?.length ?? 0),
      });
      return c;
    })();
    colorizer.catch((err: Error) => post({ type: 'init-error', message: err.message }));
    return;
  }
  // One request at a time, in arrival order (decoding awaits; another request must not interleave).
  queue = queue.then(async () => {
    try {
      if (!colorizer) throw new Error('the worker was not started');
      await handle(req, await colorizer);
    } catch (err) {
      if (req.type === 'forget') return;
      const input = err instanceof InputError;
      post({ type: 'error', job: req.job, input, message: input ? (err as Error).message : `Something went wrong: ${(err as Error).message}` });
      if (!input) console.error(err);
    }
  });
};
