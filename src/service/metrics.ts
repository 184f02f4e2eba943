/**
 * The service's counters, gauges and latency histogram, and their Prometheus text
 * exposition (format 0.0.4): what `GET /metrics` answers.
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A counter with labels: one series per distinct label set. */
export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const s = this.series.get(key);
    if (s) s.value += by;
    else this.series.set(key, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelText(labels))?.value ?? 0;
  }
  text(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const s of this.series.values()) lines.push(`${this.name}${labelText(s.labels)} ${s.value}`);
    return lines.join('\n');
  }
}

/** A gauge read when scraped. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  text(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${this.read()}`].join('\n');
  }
}

/** A histogram of seconds with fixed upper bounds. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]) this.counts[i]++;
  }
  text(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.bounds.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** Everything `GET /metrics` shows, in one registry per server. */
export class ServiceMetrics {
  readonly requests = new Counter('colorgan_http_requests_total', 'HTTP requests answered, by route and status code.');
  readonly errors = new Counter('colorgan_errors_total', 'Requests that failed, by cause.');
  readonly latency = new Histogram(
    'colorgan_colorize_duration_seconds',
    'Time from a colorize request to its answer (waiting included).',
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  private readonly gauges: Gauge[];

  constructor(read: { queued: () => number; inFlight: () => number; threads: () => number }) {
    this.gauges = [
      new Gauge('colorgan_queue_depth', 'Colorize requests waiting for a thread.', read.queued),
      new Gauge('colorgan_in_flight', 'Colorizations running now.', read.inFlight),
      new Gauge('colorgan_threads', 'Colorize threads.', read.threads),
      new Gauge('process_resident_memory_bytes', 'Resident memory of the process (all threads).', () => process.memoryUsage.rss()),
    ];
  }

  text(): string {
    return `${[this.requests.text(), this.errors.text(), this.latency.text(), ...this.gauges.map((g) => g.text())].join('\n')}\n`;
  }
}
