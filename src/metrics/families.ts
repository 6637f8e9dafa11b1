// Metric families that the request path updates with plain arithmetic: a Map lookup by a
// string key and a few additions per request, no label objects built, no hashing of label sets
// (prom-client's own Counter and Histogram hash their labels on every call). prom-client's
// registry reads them at scrape time through the same `get()` its own metrics answer, so the
// text format, escaping and content type are prom-client's.
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface SampleValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** What prom-client's Registry reads of a metric (see its registry.js getMetricsAsString). */
interface ScrapedMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: SampleValue[] }>;
}

abstract class Family<S> implements ScrapedMetric {
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, { labels: Labels; state: S }>();
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract fresh(): S;

  /**
   * The state of one label set. `key` must identify the label values (callers join them with a
   * separator); `labels` is called only the first time the key is seen.
   */
  at(key: string, labels: () => Labels): S {
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels: labels(), state: this.fresh() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  protected abstract samples(labels: Labels, state: S, out: SampleValue[]): void;

  async get() {
    const values: SampleValue[] = [];
    for (const { labels, state } of this.series.values()) this.samples(labels, state, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export interface Count {
  value: number;
}

export class CounterFamily extends Family<Count> {
  readonly type = 'counter' as const;
  protected fresh(): Count {
    return { value: 0 };
  }
  protected samples(labels: Labels, state: Count, out: SampleValue[]): void {
    out.push({ value: state.value, labels });
  }
}

/** Cumulative buckets are summed at scrape time; observe() increments one slot. */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily extends Family<Buckets> {
  readonly type = 'histogram' as const;
  constructor(
    name: string,
    help: string,
    registry: Registry,
    private readonly bounds: readonly number[],
  ) {
    super(name, help, registry);
  }
  protected fresh(): Buckets {
    return new Buckets(this.bounds);
  }
  protected samples(labels: Labels, state: Buckets, out: SampleValue[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += state.counts[i];
      const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
      out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${this.name}_bucket` });
    }
    out.push({ value: state.sum, labels, metricName: `${this.name}_sum` });
    out.push({ value: state.count, labels, metricName: `${this.name}_count` });
  }
}
