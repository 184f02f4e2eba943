/**
 * The page: pick / drop / paste photos → the worker (worker.ts) decodes and colorizes
 * each with colorizeImage (shared with the CLI) → a list of photos, each with its own
 * result and download, and a before/after view of the selected one with its controls
 * (another colorization, suggestions side by side, color strength, detail). The main
 * thread only draws previews, so the page stays responsive. Nothing is uploaded.
 */
import type { HookResult, Timings } from './hook.js';
import { paramsKey, type PhotoRef, type RenderParams, type Stage, type WorkerRequest, type WorkerResponse } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const app = $<HTMLElement>('app');
const fileInput = $<HTMLInputElement>('file');
const statusBox = $<HTMLDivElement>('status');
const statusText = $<HTMLSpanElement>('status-text');
const progress = $<HTMLProgressElement>('progress');
const errorBox = $<HTMLDivElement>('error');
const errorText = $<HTMLSpanElement>('error-text');
const errorClose = $<HTMLButtonElement>('error-close');
const result = $<HTMLElement>('result');
const viewer = $<HTMLElement>('viewer');
const compare = $<HTMLElement>('compare');
const before = $<HTMLCanvasElement>('before');
const after = $<HTMLCanvasElement>('after');
const divider = $<HTMLDivElement>('divider');
const controls = $<HTMLDivElement>('controls');
const slider = $<HTMLInputElement>('slider');
const again = $<HTMLButtonElement>('again');
const download = $<HTMLButtonElement>('download');
const saturation = $<HTMLInputElement>('saturation');
const saturationValue = $<HTMLOutputElement>('saturation-value');
const renderSelect = $<HTMLSelectElement>('render-size');
const suggestionRow = $<HTMLDivElement>('suggestions');
const info = $<HTMLParagraphElement>('info');
const photosBox = $<HTMLElement>('photos-box');
const photoList = $<HTMLUListElement>('photos');
const backendLine = $<HTMLParagraphElement>('backend');

const params = new URLSearchParams(location.search);
const seed = Number.isInteger(Number(params.get('seed'))) ? Number(params.get('seed')) : 0;
if (params.get('renderSize')) renderSelect.value = params.get('renderSize')!;
/** How many suggestions are shown side by side. */
const SUGGESTIONS = 3;

// ---- the worker ------------------------------------------------------------------

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: WorkerRequest) => worker.postMessage(m);

class WorkerError extends Error {
  constructor(
    message: string,
    readonly input: boolean,
  ) {
    super(message);
  }
}

type Answer = Exclude<WorkerResponse, { type: 'ready' | 'init-error' | 'model-progress' | 'stage' | 'error' }>;
const pending = new Map<number, { resolve(a: Answer): void; reject(e: WorkerError): void; onStage?(s: Stage): void }>();
let jobSeq = 0;

type WithoutJob<T> = T extends unknown ? Omit<T, 'job'> : never;

/** Send a request (without its job number) and wait for its answer. */
function request<R extends Answer>(m: WithoutJob<Extract<WorkerRequest, { job: number }>>, onStage?: (s: Stage) => void): Promise<R> {
  const job = ++jobSeq;
  return new Promise<R>((resolve, reject) => {
    pending.set(job, { resolve: resolve as (a: Answer) => void, reject, onStage });
    send({ ...m, job } as WorkerRequest);
  });
}

/** What the worker says once its model is loaded. */
type Ready = Omit<Extract<WorkerResponse, { type: 'ready' }>, 'type'>;
let readyInfo: Ready | null = null;
let resolveReady!: (r: Ready) => void;
let rejectReady!: (e: Error) => void;
const ready = new Promise<Ready>((res, rej) => {
  resolveReady = res;
  rejectReady = rej;
});

worker.onmessage = (ev: MessageEvent<WorkerResponse>) => {
  const m = ev.data;
  switch (m.type) {
    case 'ready':
      readyInfo = m;
      resolveReady(m);
      return;
    case 'init-error':
      rejectReady(new Error(m.message));
      return;
    case 'model-progress':
      startup = `Loading the model… ${Math.round(m.fraction * 100)}%`;
      startupFraction = m.fraction;
      refresh();
      return;
    case 'stage':
      pending.get(m.job)?.onStage?.(m.stage);
      return;
    case 'error': {
      const p = pending.get(m.job);
      pending.delete(m.job);
      p?.reject(new WorkerError(m.message, m.input));
      return;
    }
    default: {
      const p = pending.get(m.job);
      pending.delete(m.job);
      p?.resolve(m);
    }
  }
};
worker.onerror = (e) => {
  e.preventDefault();
  rejectReady(new Error(e.message || 'the worker could not be started'));
};

let startup: string | null = 'Starting TensorFlow.js…';
let startupFraction: number | undefined;
send({ type: 'init', base: document.baseURI, backend: params.get('backend') });
ready.then(
  (r) => {
    startup = null;
    backendLine.textContent =
      `Backend: ${r.backend.name}${r.backend.detail ? `, ${r.backend.detail}` : ''}.` +
      (r.refineScale > 1 ? ` Model: ${r.modelSize} px + refine ×${r.refineScale} (LAPGAN).` : '');
    saturation.max = String(Math.min(2, r.maxSaturation));
    saturation.value = String(r.defaultSaturation);
    $<HTMLSpanElement>('saturation-default').textContent = `${Math.round(r.defaultSaturation * 100)}%`;
    showSaturation();
    refresh();
    pump();
  },
  (err: Error) => {
    startup = null;
    showError(`Could not start: ${err.message}`);
    backendLine.textContent = 'Backend: none.';
    refresh();
  },
);

// ---- state -----------------------------------------------------------------------

interface Photo {
  id: number;
  name: string;
  file: File;
  /** What the next colorization is made with (the controls, for the selected photo). */
  params: RenderParams;
  /** What the shown result was made with. */
  shown?: RenderParams;
  state: 'queued' | 'running' | 'done' | 'error';
  stage?: Stage;
  error?: string;
  width?: number;
  height?: number;
  format?: string;
  hasColor?: boolean;
  before?: ImageBitmap;
  after?: ImageBitmap;
  timings?: Timings;
  suggestions?: { key: string; samples: number[]; images: ImageBitmap[] };
  downloading?: boolean;
  el: { li: HTMLLIElement; thumb: HTMLCanvasElement; state: HTMLSpanElement; show: HTMLButtonElement; download: HTMLButtonElement };
}

const photos: Photo[] = [];
let photoSeq = 0;
let selectedId: number | null = null;
/** Photos of the last batch: the first that is colorized becomes the selected one. */
let autoSelect: Set<number> | null = null;
const selected = () => photos.find((p) => p.id === selectedId) ?? null;
const ref = (p: Photo): PhotoRef => ({ id: p.id, file: p.file });
const renderSize = (): number | undefined => (renderSelect.value ? Number(renderSelect.value) : undefined);

function currentSaturation(): number | undefined {
  const v = Number(saturation.value);
  return readyInfo && Math.abs(v - readyInfo.defaultSaturation) < 1e-9 ? undefined : v;
}

// ---- the scheduler: one request at a time, the most urgent first ---------------------

/** Requests the user (or the test hook) asked for explicitly: downloads, pixels. */
const explicit: Array<() => Promise<void>> = [];
let inFlight = false;

const suggestionSamples = (p: Photo) => {
  const first = Math.floor(p.params.sample / SUGGESTIONS) * SUGGESTIONS;
  return Array.from({ length: SUGGESTIONS }, (_, i) => first + i);
};
const suggestionKey = (p: Photo) => paramsKey({ ...p.params, sample: suggestionSamples(p)[0] });

function nextTask(): (() => Promise<void>) | null {
  const job = explicit.shift();
  if (job) return job;
  const sel = selected();
  if (sel && sel.state !== 'error' && (!sel.shown || paramsKey(sel.shown) !== paramsKey(sel.params))) return () => colorizeTask(sel);
  if (sel?.shown && sel.suggestions?.key !== suggestionKey(sel)) return () => suggestTask(sel);
  const next = photos.find((p) => p.state === 'queued');
  if (next) return () => colorizeTask(next);
  return null;
}

function pump(): void {
  if (inFlight || !readyInfo) return;
  const task = nextTask();
  if (!task) {
    refresh();
    return;
  }
  inFlight = true;
  task()
    .catch((err) => console.error(err))
    .finally(() => {
      inFlight = false;
      pump();
    });
}

const STAGES: Record<Stage, string> = {
  reading: 'reading the photo',
  model: 'running the model',
  'full-resolution': 'coloring at full resolution',
  preview: 'drawing',
  encoding: 'encoding the PNG',
};
let activity: string | null = null;

async function colorizeTask(p: Photo): Promise<void> {
  const wanted = { ...p.params };
  const first = !p.shown;
  p.state = 'running';
  p.stage = undefined;
  const label = () => {
    const left = photos.filter((q) => q.state === 'queued').length;
    return `Colorizing ${p.name}${left ? ` (${left} more waiting)` : ''}: ${STAGES[p.stage ?? 'reading']}…`;
  };
  activity = label();
  refresh();
  try {
    const r = await request<Extract<Answer, { type: 'colorized' }>>(
      { type: 'colorize', photo: ref(p), params: wanted, preview: previewMax(), before: !p.before },
      (s) => {
        p.stage = s;
        activity = label();
        refresh();
      },
    );
    if (!photos.includes(p)) {
      r.before?.close();
      r.after.close();
      return;
    }
    if (r.before) p.before = r.before;
    p.after?.close();
    p.after = r.after;
    p.shown = wanted;
    p.state = 'done';
    Object.assign(p, { width: r.width, height: r.height, format: r.format, hasColor: r.hasColor, timings: r.timings });
    drawThumb(p);
    if (autoSelect?.has(p.id)) {
      autoSelect = null;
      select(p);
    } else if (p.id === selectedId) drawSelected();
  } catch (err) {
    const e = err as WorkerError;
    // A photo that was colorized before keeps its result (and its buttons), and its
    // settings go back to that result's (else the scheduler would retry in a loop).
    p.state = first ? 'error' : 'done';
    if (first) p.error = e.message;
    else {
      p.params = { ...p.shown! };
      if (p.id === selectedId) showSettings(p);
    }
    showError(`${p.name}: ${e.message}`);
  } finally {
    activity = null;
    refresh();
  }
}

async function suggestTask(p: Photo): Promise<void> {
  const samples = suggestionSamples(p);
  const key = suggestionKey(p);
  activity = `Suggestions for ${p.name}…`;
  refresh();
  try {
    const r = await request<Extract<Answer, { type: 'suggestions' }>>({
      type: 'suggest',
      photo: ref(p),
      params: { ...p.params },
      samples,
      size: Math.round(240 * devicePixelRatio),
    });
    if (!photos.includes(p)) {
      for (const b of r.images) b.close();
      return;
    }
    for (const b of p.suggestions?.images ?? []) b.close();
    p.suggestions = { key, samples, images: r.images };
    if (p.id === selectedId) drawSuggestions(p);
  } catch (err) {
    // Suggestions are an extra: mark them as done so that they are not retried in a loop.
    p.suggestions = { key, samples, images: [] };
    showError(`${p.name}: suggestions failed: ${(err as Error).message}`);
  } finally {
    activity = null;
    refresh();
  }
}

/** Long side of the previews the worker draws: the screen's, in device pixels. */
const previewMax = () => Math.min(4096, Math.round(Math.max(screen.width, screen.height, innerWidth, innerHeight) * devicePixelRatio));

// ---- rendering -------------------------------------------------------------------

function showError(msg: string | null): void {
  errorBox.hidden = !msg;
  errorText.textContent = msg ?? '';
}
errorClose.addEventListener('click', () => showError(null));

/** Bring every element in line with the state (cheap: text and attributes only). */
function refresh(): void {
  const sel = selected();
  const text = startup ?? activity;
  statusBox.hidden = !text;
  statusText.textContent = text ?? '';
  progress.hidden = !startup || startupFraction === undefined;
  if (startupFraction !== undefined) progress.value = startupFraction;
  app.dataset.empty = String(photos.length === 0);
  photosBox.hidden = photos.length === 0;
  result.hidden = !sel?.after;
  controls.hidden = !sel?.after;
  const busyHere = !!sel && (sel.state === 'running' || !sel.shown || paramsKey(sel.shown) !== paramsKey(sel.params));
  result.dataset.state = !sel ? 'idle' : busyHere ? 'running' : 'done';
  result.setAttribute('aria-busy', String(busyHere));
  if (sel?.shown) result.dataset.sample = String(sel.shown.sample);
  again.disabled = !sel?.after;
  download.disabled = !sel?.after || !!sel.downloading;
  for (const p of photos) {
    p.el.li.dataset.state = p.state;
    p.el.state.title = p.state === 'error' ? p.error! : '';
    p.el.show.setAttribute('aria-pressed', String(p.id === selectedId));
    p.el.download.disabled = !p.shown || !!p.downloading;
    p.el.state.textContent =
      p.state === 'error'
        ? p.error!
        : p.downloading
          ? 'Preparing the PNG…'
          : p.state === 'running'
            ? `${STAGES[p.stage ?? 'reading']}…`
            : p.state === 'queued'
              ? 'Waiting…'
              : `${p.width}×${p.height}`;
  }
  for (const b of suggestionRow.querySelectorAll<HTMLButtonElement>('button')) {
    b.setAttribute('aria-pressed', String(sel?.params.sample === Number(b.dataset.sample)));
  }
}

/** The latest request per canvas: a slower earlier copy must not replace a newer one. */
const shownOn = new WeakMap<HTMLCanvasElement, number>();
let showSeq = 0;

/**
 * Show `bmp` on `canvas` without drawing on the main thread: a copy (resized if asked)
 * made by createImageBitmap, handed over to a bitmaprenderer context (no pixel copy).
 * The original stays for when the photo is shown again.
 */
function showBitmap(canvas: HTMLCanvasElement, bmp: ImageBitmap, opts?: ImageBitmapOptions): void {
  const my = ++showSeq;
  shownOn.set(canvas, my);
  createImageBitmap(bmp, opts).then(
    (copy) => {
      if (shownOn.get(canvas) !== my) return copy.close();
      (canvas.getContext('bitmaprenderer') as ImageBitmapRenderingContext).transferFromImageBitmap(copy);
    },
    (err) => console.error(err),
  );
}

function drawThumb(p: Photo): void {
  if (!p.after) return;
  const s = Math.min(1, (40 * devicePixelRatio) / Math.min(p.after.width, p.after.height));
  const size = { resizeWidth: Math.max(1, Math.round(p.after.width * s)), resizeHeight: Math.max(1, Math.round(p.after.height * s)) };
  showBitmap(p.el.thumb, p.after, { ...size, resizeQuality: 'medium' });
}

function drawSelected(): void {
  const p = selected();
  if (!p?.after || !p.before) {
    refresh();
    return;
  }
  showBitmap(before, p.before);
  showBitmap(after, p.after);
  before.setAttribute('aria-label', `${p.name}: the gray input`);
  after.setAttribute('aria-label', `${p.name}: colorized (sample ${p.shown!.sample + 1})`);
  const mp = (p.width! * p.height!) / 1e6;
  const t = p.timings;
  info.textContent =
    `${p.width}×${p.height} (${mp.toFixed(mp < 1 ? 2 : 1)} MP, ${p.format})` +
    (p.hasColor ? ' · color photo: only its brightness was used' : '') +
    ` · seed ${seed}, sample ${p.shown!.sample}, detail ${p.shown!.renderSize ?? readyInfo?.modelSize ?? '?'}` +
    (t && t.colorizeMs > 0 ? ` · ${Math.round(t.colorizeMs)} ms on ${readyInfo?.backend.name ?? '?'}` : '');
  refresh();
  fitCompare();
  drawSuggestions(p);
}

function drawSuggestions(p: Photo): void {
  suggestionRow.replaceChildren();
  const s = p.suggestions;
  const samples = s?.samples ?? suggestionSamples(p);
  samples.forEach((sample, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'suggestion';
    b.dataset.sample = String(sample);
    b.setAttribute('aria-label', `Suggestion ${sample + 1}`);
    const c = document.createElement('canvas');
    c.setAttribute('aria-hidden', 'true');
    const bmp = s?.key === suggestionKey(p) ? s.images[i] : undefined;
    if (bmp) {
      c.width = bmp.width;
      c.height = bmp.height;
      c.getContext('2d')!.drawImage(bmp, 0, 0);
    } else {
      b.classList.add('loading');
      c.width = 4;
      c.height = 3;
    }
    b.append(c);
    b.addEventListener('click', () => {
      p.params.sample = sample;
      refresh();
      pump();
    });
    suggestionRow.append(b);
  });
  refresh();
}

/** Fit the before/after view into the space left in the window (wide) or a part of it (narrow). */
function fitCompare(): void {
  const p = selected();
  if (!p?.after || result.hidden) return;
  const wide = matchMedia('(min-width: 900px)').matches;
  const top = viewer.getBoundingClientRect().top + scrollY;
  const maxH = wide ? innerHeight - top - 24 : innerHeight * 0.55;
  const maxW = viewer.clientWidth;
  const w = p.width!,
    h = p.height!;
  const s = Math.min(maxW / w, Math.max(120, maxH) / h, 4);
  compare.style.width = `${Math.floor(w * s)}px`;
  compare.style.height = `${Math.floor(h * s)}px`;
}
addEventListener('resize', fitCompare);

/** The controls show this photo's settings. */
function showSettings(p: Photo): void {
  saturation.value = String(p.params.saturation ?? readyInfo?.defaultSaturation ?? 1);
  showSaturation();
  renderSelect.value = p.params.renderSize ? String(p.params.renderSize) : '';
}

function select(p: Photo): void {
  const changed = selectedId !== p.id;
  selectedId = p.id;
  if (changed) setSplit(50); // every photo starts in the middle
  showSettings(p);
  drawSelected();
  drawSuggestions(p);
  pump();
}

// ---- adding and removing photos ----------------------------------------------------

function addFiles(files: File[]): void {
  if (!files.length) return;
  showError(null);
  const batch: Photo[] = [];
  for (const file of files) {
    const id = ++photoSeq;
    const name = file.name || `photo-${id}.png`;
    const li = document.createElement('li');
    li.className = 'photo';
    const show = document.createElement('button');
    show.type = 'button';
    show.className = 'photo-show';
    const thumb = document.createElement('canvas');
    thumb.className = 'thumb';
    thumb.width = thumb.height = 1;
    thumb.setAttribute('aria-hidden', 'true');
    const nameEl = document.createElement('span');
    nameEl.className = 'photo-name';
    nameEl.textContent = name;
    nameEl.title = name;
    const state = document.createElement('span');
    state.className = 'photo-state';
    show.append(thumb, nameEl, state);
    const dl = document.createElement('button');
    dl.type = 'button';
    dl.className = 'photo-download';
    dl.textContent = 'Download';
    dl.setAttribute('aria-label', `Download ${name}, colorized`);
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'photo-remove';
    rm.textContent = '×';
    rm.setAttribute('aria-label', `Remove ${name}`);
    li.append(show, dl, rm);
    photoList.append(li);
    const p: Photo = {
      id,
      name,
      file,
      params: { seed, sample: 0, renderSize: renderSize(), saturation: currentSaturation() },
      state: 'queued',
      el: { li, thumb, state, show, download: dl },
    };
    show.addEventListener('click', () => {
      autoSelect = null;
      if (p.shown) select(p);
      else if (p.state === 'error') showError(`${p.name}: ${p.error}`);
    });
    dl.addEventListener('click', () => downloadPhoto(p));
    rm.addEventListener('click', () => removePhoto(p));
    photos.push(p);
    batch.push(p);
  }
  autoSelect = new Set(batch.map((p) => p.id));
  refresh();
  pump();
}

function removePhoto(p: Photo): void {
  const i = photos.indexOf(p);
  if (i < 0) return;
  photos.splice(i, 1);
  p.el.li.remove();
  for (const b of [p.before, p.after, ...(p.suggestions?.images ?? [])]) b?.close();
  send({ type: 'forget', photo: p.id });
  if (selectedId === p.id) {
    selectedId = null;
    const next = photos[Math.min(i, photos.length - 1)];
    if (next?.shown) select(next);
  }
  refresh();
  (photos[Math.min(i, photos.length - 1)]?.el.show ?? fileInput).focus();
}

function downloadPhoto(p: Photo): void {
  if (!p.shown || p.downloading) return;
  const shown = { ...p.shown };
  p.downloading = true;
  refresh();
  explicit.push(async () => {
    activity = `Preparing the PNG of ${p.name}…`;
    refresh();
    try {
      const r = await request<Extract<Answer, { type: 'png' }>>({ type: 'png', photo: ref(p), params: shown });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(r.blob);
      a.download = `${p.name.replace(/\.[^.]*$/, '') || 'photo'}-colorized-seed${shown.seed}-${shown.sample}.png`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (err) {
      showError(`${p.name}: could not make the PNG: ${(err as Error).message}`);
    } finally {
      p.downloading = false;
      activity = null;
      refresh();
    }
  });
  pump();
}

// ---- controls of the selected photo --------------------------------------------------

again.addEventListener('click', () => {
  const p = selected();
  if (!p) return;
  p.params.sample++;
  drawSuggestions(p);
  pump();
});
download.addEventListener('click', () => {
  const p = selected();
  if (p) downloadPhoto(p);
});
renderSelect.addEventListener('change', () => {
  const p = selected();
  if (!p) return;
  p.params.renderSize = renderSize();
  refresh();
  pump();
});
function showSaturation(): void {
  saturationValue.value = `${Math.round(Number(saturation.value) * 100)}%`;
}
saturation.addEventListener('input', showSaturation);
saturation.addEventListener('change', () => {
  const p = selected();
  if (!p) return;
  p.params.saturation = currentSaturation();
  refresh();
  pump();
});

// ---- input: picker, drag and drop, paste -----------------------------------------

fileInput.addEventListener('change', () => {
  addFiles(Array.from(fileInput.files ?? []));
  fileInput.value = '';
});
const drop = $<HTMLLabelElement>('drop');
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
  const files = Array.from(e.dataTransfer?.files ?? []);
  if (files.length) addFiles(files);
  else showError('Drop photo files (not a link or text).');
});
window.addEventListener('paste', (e) => {
  const files = Array.from(e.clipboardData?.items ?? [])
    .filter((i) => i.kind === 'file')
    .map((i) => i.getAsFile())
    .filter((f): f is File => !!f)
    .map((f) => (f.name && f.name !== 'image.png' ? f : new File([f], 'pasted.png', { type: f.type })));
  if (!files.length) return showError('The clipboard has no image. Copy a photo (not its address) and paste again.');
  e.preventDefault();
  addFiles(files);
});

// ---- before/after slider ---------------------------------------------------------

function setSplit(pct: number): void {
  pct = Math.min(100, Math.max(0, pct));
  before.style.clipPath = `inset(0 ${100 - pct}% 0 0)`;
  divider.style.left = `${pct}%`;
  slider.value = String(Math.round(pct));
  slider.setAttribute('aria-valuetext', `${Math.round(pct)}% before`);
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

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Run `fn` as an explicit request (after the one in flight) and give its result. */
function explicitly<T>(fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    explicit.push(() => fn().then(resolve, reject));
    pump();
  });
}

const pixels = (r: Extract<Answer, { type: 'pixels' }>): HookResult => ({
  width: r.width,
  height: r.height,
  data: toBase64(new Uint8Array(r.data)),
  timings: r.timings ?? null,
  backend: readyInfo?.backend.name ?? '',
});

window.__colorgan = {
  ready: ready.then((r) => ({ backend: r.backend.name, detail: r.backend.detail, threads: r.backend.threads })),
  lastResult() {
    const p = selected();
    if (!p?.shown) return Promise.resolve(null);
    const shown = { ...p.shown };
    return explicitly(async () => pixels(await request({ type: 'pixels', photo: ref(p), params: shown })));
  },
  colorizeFromUrl(url, s = 0, sample = 0, repeat = 1, rs?: number) {
    const abs = new URL(url, location.href).href;
    return explicitly(async () => {
      const r = await request<Extract<Answer, { type: 'pixels' }>>({ type: 'run-url', url: abs, params: { seed: s, sample, renderSize: rs }, repeat });
      return { ...pixels(r), runsMs: r.runsMs ?? [] };
    });
  },
};
