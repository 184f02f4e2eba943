/**
 * The page: pick / drop / paste a photo → decode in the page → colorizeImage (shared with
 * the CLI) → before/after view, more samples, PNG download. Nothing is uploaded.
 */
import type { RgbImage } from '../../src/color/yuv.js';
import { colorizeImage, type Colorizer } from '../../src/infer/colorizer.js';
import { decodePhoto, InputError, toImageData, type Decoded } from './decode.js';
import type { Timings } from './hook.js';
import { initBackend, loadColorizer, type BackendInfo } from './model.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>('file');
const drop = $<HTMLLabelElement>('drop');
const statusBox = $<HTMLDivElement>('status');
const statusText = $<HTMLSpanElement>('status-text');
const progress = $<HTMLProgressElement>('progress');
const errorBox = $<HTMLDivElement>('error');
const result = $<HTMLElement>('result');
const compare = $<HTMLElement>('compare');
const before = $<HTMLCanvasElement>('before');
const after = $<HTMLCanvasElement>('after');
const divider = $<HTMLDivElement>('divider');
const slider = $<HTMLInputElement>('slider');
const again = $<HTMLButtonElement>('again');
const download = $<HTMLButtonElement>('download');
const info = $<HTMLParagraphElement>('info');
const backendLine = $<HTMLParagraphElement>('backend');
const renderSelect = $<HTMLSelectElement>('render-size');

const params = new URLSearchParams(location.search);
const seed = Number.isInteger(Number(params.get('seed'))) ? Number(params.get('seed')) : 0;
/** Short side of the model grid (fully convolutional models); '' = the model's training size. */
if (params.get('renderSize')) renderSelect.value = params.get('renderSize')!;
const renderSize = (): number | undefined => (renderSelect.value ? Number(renderSelect.value) : undefined);

// ---- status / errors -----------------------------------------------------------

function busy(text: string, fraction?: number): void {
  statusBox.hidden = false;
  statusText.textContent = text;
  progress.hidden = fraction === undefined;
  if (fraction !== undefined) progress.value = fraction;
}
function idle(): void {
  statusBox.hidden = true;
}
function showError(msg: string | null): void {
  errorBox.hidden = !msg;
  errorBox.textContent = msg ?? '';
}
/** Let the browser paint (status text, spinner) before a long synchronous step. */
const paint = () => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0)));

// ---- backend and model -----------------------------------------------------------

interface Current {
  name: string;
  photo: Decoded;
  sample: number;
  out?: RgbImage;
}
let current: Current | null = null;
let job = 0;

let backend: BackendInfo | null = null;
const ready: Promise<Colorizer> = (async () => {
  busy('Starting TensorFlow.js…');
  backend = await initBackend(params.get('backend'));
  backendLine.textContent = `Backend: ${backend.name}${backend.detail ? ` (${backend.detail})` : ''}.`;
  busy('Loading the model…', 0);
  const c = await loadColorizer((f) => busy(`Loading the model… ${Math.round(f * 100)}%`, f));
  if (!current) idle();
  return c;
})();
ready.catch((err) => {
  idle();
  showError(`Could not start: ${(err as Error).message}`);
  backendLine.textContent = 'Backend: none.';
});

// ---- one photo -------------------------------------------------------------------

function runColorize(c: Colorizer, img: RgbImage, sample: number): { out: RgbImage; ms: number } {
  const t0 = performance.now();
  const { rgb } = colorizeImage(c, img, { seed, sample, renderSize: renderSize() });
  return { out: rgb, ms: performance.now() - t0 };
}

async function handleBlob(blob: Blob, name: string): Promise<void> {
  const my = ++job;
  showError(null);
  busy('Reading the photo…');
  again.disabled = download.disabled = true;
  try {
    const t0 = performance.now();
    const photo = await decodePhoto(blob);
    const decodeMs = performance.now() - t0;
    if (my !== job) return;
    current = { name, photo, sample: 0 };
    const c = await ready;
    if (my !== job) return;
    await show(c, decodeMs);
  } catch (err) {
    if (my !== job) return;
    idle();
    showError(err instanceof InputError ? err.message : `Something went wrong: ${(err as Error).message}`);
    if (!current?.out) result.hidden = true;
    console.error(err);
  }
}

async function show(c: Colorizer, decodeMs = 0): Promise<void> {
  const cur = current!;
  const { img } = cur.photo;
  busy(`Colorizing ${img.width}×${img.height}…`);
  result.setAttribute('data-state', 'running');
  await paint();
  const { out, ms } = runColorize(c, img, cur.sample);
  const t1 = performance.now();
  before.width = after.width = img.width;
  before.height = after.height = img.height;
  before.getContext('2d')!.putImageData(toImageData(img, true), 0, 0);
  after.getContext('2d')!.putImageData(toImageData(out), 0, 0);
  const drawMs = performance.now() - t1;
  cur.out = out;
  lastTimings = { decodeMs, colorizeMs: ms, drawMs };
  result.hidden = false;
  idle();
  again.disabled = download.disabled = false;
  const mp = (img.width * img.height) / 1e6;
  info.textContent =
    `${img.width}×${img.height} (${mp.toFixed(mp < 1 ? 2 : 1)} MP, ${cur.photo.format})` +
    (cur.photo.hasColor ? ' · color photo: only its brightness was used' : '') +
    ` · seed ${seed}, sample ${cur.sample}, render size ${renderSize() ?? c.meta.config.size} · ${Math.round(ms)} ms on ${backend?.name ?? '?'}`;
  result.setAttribute('data-state', 'done');
  result.setAttribute('data-sample', String(cur.sample));
}

/** Colorize the current photo again (another sample, or another render size). */
async function rerun(): Promise<void> {
  again.disabled = download.disabled = true;
  try {
    await show(await ready);
  } catch (err) {
    idle();
    showError(`Something went wrong: ${(err as Error).message}`);
  }
}

again.addEventListener('click', () => {
  if (!current) return;
  current.sample++;
  void rerun();
});

renderSelect.addEventListener('change', () => {
  if (current) void rerun();
});

download.addEventListener('click', () => {
  if (!current?.out) return;
  const base = current.name.replace(/\.[^.]*$/, '') || 'photo';
  after.toBlob((blob) => {
    if (!blob) return showError('Could not encode the PNG.');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${base}-colorized-seed${seed}-${current!.sample}.png`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
});

// ---- input: picker, drag and drop, paste -----------------------------------------

fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) void handleBlob(f, f.name);
  fileInput.value = '';
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    fileInput.click();
  }
});
let dragDepth = 0;
window.addEventListener('dragenter', (e) => {
  e.preventDefault();
  dragDepth++;
  drop.classList.add('over');
});
window.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) {
    dragDepth = 0;
    drop.classList.remove('over');
  }
});
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  drop.classList.remove('over');
  const f = e.dataTransfer?.files?.[0];
  if (f) void handleBlob(f, f.name);
  else showError('Drop a photo file (not a link or text).');
});
window.addEventListener('paste', (e) => {
  const items = Array.from(e.clipboardData?.items ?? []);
  const item = items.find((i) => i.kind === 'file');
  const f = item?.getAsFile();
  if (!f) return showError('The clipboard has no image. Copy a photo (not its address) and paste again.');
  e.preventDefault();
  void handleBlob(f, f.name && f.name !== 'image.png' ? f.name : 'pasted.png');
});

// ---- before/after slider ---------------------------------------------------------

function setSplit(pct: number): void {
  pct = Math.min(100, Math.max(0, pct));
  before.style.clipPath = `inset(0 ${100 - pct}% 0 0)`;
  divider.style.left = `${pct}%`;
  slider.value = String(pct);
}
slider.addEventListener('input', () => setSplit(Number(slider.value)));
compare.addEventListener('pointerdown', (e) => {
  compare.setPointerCapture(e.pointerId);
  const move = (ev: PointerEvent) => {
    const r = compare.getBoundingClientRect();
    setSplit(((ev.clientX - r.left) / r.width) * 100);
  };
  move(e);
  compare.addEventListener('pointermove', move);
  compare.addEventListener('pointerup', () => compare.removeEventListener('pointermove', move), { once: true });
});
setSplit(50);

// ---- offline ---------------------------------------------------------------------

if ('serviceWorker' in navigator && import.meta.env.PROD && !params.has('nosw')) {
  // After the model has loaded: the worker's precache then revalidates files that are
  // already in the HTTP cache instead of downloading them a second time.
  void ready
    .catch(() => undefined)
    .then(() => navigator.serviceWorker.register('./sw.js'))
    .catch((err) => console.warn('service worker not registered', err));
}

// ---- test hook -------------------------------------------------------------------

let lastTimings: Timings | null = null;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

window.__colorgan = {
  ready: ready.then(() => ({ backend: backend!.name, detail: backend!.detail })),
  lastResult() {
    if (!current?.out) return null;
    const o = current.out;
    return { width: o.width, height: o.height, data: toBase64(o.data), timings: lastTimings, backend: backend?.name ?? '' };
  },
  async colorizeFromUrl(url, s = 0, sample = 0, repeat = 1, rs?: number) {
    const c = await ready;
    const t0 = performance.now();
    const photo = await decodePhoto(await (await fetch(url)).blob());
    const decodeMs = performance.now() - t0;
    const runsMs: number[] = [];
    let out: RgbImage | null = null;
    for (let i = 0; i < Math.max(1, repeat); i++) {
      const t = performance.now();
      out = colorizeImage(c, photo.img, { seed: s, sample, renderSize: rs }).rgb;
      runsMs.push(performance.now() - t);
    }
    return {
      width: out!.width,
      height: out!.height,
      data: toBase64(out!.data),
      backend: backend!.name,
      runsMs,
      timings: { decodeMs, colorizeMs: runsMs[0], drawMs: 0 },
    };
  },
};
