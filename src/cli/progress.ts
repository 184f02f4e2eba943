/**
 * A progress bar for long work: count, rate, ETA and a short status. On a terminal it
 * redraws one line; in logs (not a TTY) it prints a line at most every `logEvery` seconds.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit: string;
  /** Units per tick (e.g. images per step). */
  stream?: NodeJS.WriteStream;
  logEvery?: number;
  /** Units already done when the bar starts (watching work in progress): the rate counts from there. */
  from?: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '--:--';
  sec = Math.max(0, Math.round(sec));
  const h = Math.floor(sec / 3600),
    m = Math.floor((sec % 3600) / 60),
    s = sec % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

export class Progress {
  private done = 0;
  private readonly t0 = performance.now();
  private lastLog = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Rate in units per second so far. */
  rate(): number {
    const s = (performance.now() - this.t0) / 1000;
    return s > 0 ? Math.max(0, this.done - (this.o.from ?? 0)) / s : 0;
  }

  /** The total grew (work added while it runs). */
  setTotal(total: number): void {
    this.o.total = total;
  }

  update(done: number, status = ''): void {
    this.done = done;
    const now = performance.now();
    const finished = done >= this.o.total;
    if (!this.tty && !finished && now - this.lastLog < (this.o.logEvery ?? 30) * 1000) return;
    this.lastLog = now;
    const rate = this.rate();
    const eta = rate > 0 ? (this.o.total - done) / rate : Infinity;
    const width = 24;
    const filled = Math.round((width * Math.min(done, this.o.total)) / Math.max(1, this.o.total));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const line = `${this.o.label} ${bar} ${done}/${this.o.total} ${this.o.unit} | ${rate.toFixed(rate < 10 ? 2 : 1)} ${this.o.unit}/s | ETA ${formatDuration(eta)}${status ? ` | ${status}` : ''}`;
    if (this.tty) this.stream.write(`\r\x1b[2K${line}`);
    else this.stream.write(`${line}\n`);
  }

  /** End the bar's line (the caller prints its summary after). */
  finish(): void {
    if (this.tty) this.stream.write('\n');
  }
}

/**
 * A (done, total) callback drawing one bar per run of calls: a new bar starts whenever the
 * total changes (e.g. each data folder of several is decoded with its own count).
 */
export function progressCallback(label: string, unit: string): (done: number, total: number) => void {
  let bar: Progress | null = null;
  let barTotal = -1;
  return (done, total) => {
    if (!bar || total !== barTotal) {
      bar = new Progress({ label, total, unit });
      barTotal = total;
    }
    bar.update(done);
    if (done === total) bar.finish();
  };
}
