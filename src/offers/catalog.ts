// The GPU catalog and hubs are reference data: read once per process, then served from memory.
import type { Executor } from "../db/client.js";
import { gpuModels } from "../db/schema.js";
import { HUB_NAMES } from "../db/reference.js";
import { badInput } from "../errors.js";

export type GpuModelRow = typeof gpuModels.$inferSelect;

export class Catalog {
  private constructor(
    private byName: Map<string, GpuModelRow>,
    private byId: Map<number, GpuModelRow>,
  ) {}

  static async load(db: Executor): Promise<Catalog> {
    const rows = await db.select().from(gpuModels).orderBy(gpuModels.id);
    return new Catalog(new Map(rows.map((r) => [r.name, r])), new Map(rows.map((r) => [r.id, r])));
  }

  all(): GpuModelRow[] {
    return [...this.byId.values()];
  }

  model(id: number): GpuModelRow {
    const model = this.byId.get(id);
    if (!model) throw new Error(`GPU model ${id} is not in the catalog`);
    return model;
  }

  /** The model named as `gpuModels` lists it, e.g. "H800". */
  modelNamed(field: string, name: string): GpuModelRow {
    const model = this.byName.get(name);
    if (!model) throw badInput(field, `${field} must be a GPU model listed by gpuModels`);
    return model;
  }
}

export function requireHub(field: string, hub: string): string {
  if (!HUB_NAMES.has(hub)) throw badInput(field, `${field} must be one of the national hubs, like "Ningxia Zhongwei"`);
  return hub;
}
