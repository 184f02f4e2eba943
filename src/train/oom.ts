/**
 * Running out of memory during training, turned into one clear line.
 *
 * The wasm backend's heap is capped at 4 GB (wasm32). A batch that does not fit shows up as:
 * - an emscripten abort: a WebAssembly.RuntimeError whose message starts with "Aborted("
 *   ("Aborted(OOM)", or a bare "Aborted(). Build with -sASSERTIONS for more info.");
 * - an allocation failure in JavaScript: RangeError "Array buffer allocation failed",
 *   or any error saying "out of memory" / "Cannot enlarge memory";
 * - "memory access out of bounds" (a WebAssembly.RuntimeError): this tfjs-backend-wasm
 *   build does not abort when malloc fails, it returns 0 and the kernel's first write past
 *   the heap traps (measured: a 4 GB Tile on the wasm backend fails exactly so).
 * After an emscripten abort the wasm module is dead: nothing may run on it in this
 * process any more, so the error is only reported, never retried.
 */

export class OutOfMemoryError extends Error {}

/** Whether `err` is an out-of-memory failure (see above). Pure: looks at the error only. */
export function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error) && typeof err !== 'string') return false;
  const msg = typeof err === 'string' ? err : err.message;
  if (/^Aborted\(/.test(msg)) return true;
  if (/\bOOM\b/.test(msg) || /array buffer allocation failed|out of memory|cannot enlarge memory/i.test(msg)) return true;
  const isWasmTrap = typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError;
  return isWasmTrap && /memory access out of bounds/i.test(msg);
}

export interface OutOfMemoryContext {
  /** Photos per micro-batch (--batch). */
  batch: number;
  /** Micro-batches per optimizer step (--accum). */
  accum: number;
  /** Generator architecture, e.g. "advanced". */
  model: string;
  /** Backend name ("wasm" gets the heap limit named). */
  backend?: string;
}

/** The smallest --batch the CLI accepts. */
const MIN_BATCH = 2;

/**
 * A smaller micro-batch (about a quarter) that divides the effective batch batch × accum,
 * and the accum that keeps the effective batch; null when the batch cannot get smaller.
 */
export function smallerBatch(batch: number, accum: number): { batch: number; accum: number; exact: boolean } | null {
  if (batch <= MIN_BATCH) return null;
  const effective = batch * accum;
  const target = Math.max(MIN_BATCH, Math.floor(batch / 4));
  for (let b = target; b >= MIN_BATCH; b--) if (effective % b === 0) return { batch: b, accum: effective / b, exact: true };
  return { batch: target, accum: Math.ceil(effective / target), exact: false };
}

/** One line: where memory ran out and which --batch / --accum to use instead. */
export function outOfMemoryMessage(ctx: OutOfMemoryContext, err?: unknown): string {
  const where = ctx.backend === undefined || ctx.backend === 'wasm' ? 'out of memory in the wasm heap (4 GB limit)' : 'out of memory';
  const at = `at batch ${ctx.batch}${ctx.accum > 1 ? ` (× accum ${ctx.accum})` : ''} of the ${ctx.model} generator`;
  const s = smallerBatch(ctx.batch, ctx.accum);
  const advice = s
    ? `use a smaller --batch (e.g. ${s.batch}) and --accum ${s.accum} for ${s.exact ? 'the same' : 'about the same'} effective batch (${ctx.batch * ctx.accum})`
    : `batch ${ctx.batch} is the smallest; use a smaller --size or --ngf/--ndf`;
  const raw =
    err === undefined
      ? ''
      : String(err instanceof Error ? err.message : err)
          .split('\n')[0]
          .trim();
  return `${where} ${at}: ${advice}${raw ? ` [${raw}]` : ''}`;
}
