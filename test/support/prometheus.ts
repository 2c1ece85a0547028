// Scrapes GET /metrics and reads it with a Prometheus text-format parser (prom2json's shape).
import { createRequire } from "node:module";

export interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

export interface Family {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: Sample[];
}

const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Family[];

export class Scrape {
  readonly families: Family[];
  constructor(readonly text: string) {
    this.families = parse(text);
  }

  /**
   * One histogram's buckets, count and sum for these labels. The parser reads histograms without
   * labels only, so the series with these labels is handed to it alone, its labels but `le` left out.
   */
  histogram(name: string, labels: Record<string, string>): Required<Pick<Sample, "buckets" | "count" | "sum">> {
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    const series = this.text
      .split("\n")
      .filter((line) => /^(\w+)_(bucket|sum|count)\{/.test(line) && line.startsWith(`${name}_`))
      .filter((line) => wanted.every((pair) => line.includes(pair)))
      .map((line) =>
        line.replace(/\{([^}]*)\}/, (_, inner: string) => {
          const le = inner.split(",").find((pair) => pair.startsWith("le="));
          return le ? `{${le}}` : "";
        }),
      );
    const [family] = parse([`# TYPE ${name} histogram`, ...series, ""].join("\n"));
    const sample = family?.metrics[0];
    if (!sample?.buckets || sample.count === undefined || sample.sum === undefined)
      throw new Error(`no histogram ${name} with ${JSON.stringify(labels)}`);
    return { buckets: sample.buckets, count: sample.count, sum: sample.sum };
  }

  family(name: string): Family {
    const found = this.families.find((f) => f.name === name);
    if (!found) throw new Error(`no metric ${name} in the scrape`);
    return found;
  }

  /** The samples of a metric whose labels include these. */
  samples(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.family(name).metrics.filter((m) =>
      Object.entries(labels).every(([key, value]) => m.labels?.[key] === value),
    );
  }

  /** The one value of a counter or gauge with these labels (0 when no sample has them). */
  value(name: string, labels: Record<string, string> = {}): number {
    const samples = this.samples(name, labels);
    if (samples.length > 1) throw new Error(`${samples.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return samples.length ? Number(samples[0].value) : 0;
  }
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  if (!response.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"))
    throw new Error(`GET /metrics content type ${response.headers.get("content-type")}`);
  return new Scrape(await response.text());
}
