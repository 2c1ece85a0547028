// Reference data present in every database, also with SEED=none: the national hubs and the GPU catalog.
import type { Executor } from "./client.js";
import { gpuModels, hubs } from "./schema.js";

export const HUBS: ReadonlyArray<{ name: string; province: string }> = [
  { name: "Zhangjiakou", province: "Hebei" },
  { name: "Yangtze Delta", province: "Shanghai" },
  { name: "Wuhu", province: "Anhui" },
  { name: "Shaoguan", province: "Guangdong" },
  { name: "Chengdu Tianfu", province: "Sichuan" },
  { name: "Chongqing", province: "Chongqing" },
  { name: "Inner Mongolia Horinger", province: "Inner Mongolia" },
  { name: "Guizhou Gui'an", province: "Guizhou" },
  { name: "Gansu Qingyang", province: "Gansu" },
  { name: "Ningxia Zhongwei", province: "Ningxia" },
];

export const HUB_NAMES: ReadonlySet<string> = new Set(HUBS.map((h) => h.name));

/**
 * The western hubs of "East Data, West Computing" (东数西算), where power is cheap and capacity idle:
 * the policy report's western share counts GPU-hours in these; the others are the eastern hubs.
 */
export const WESTERN_HUBS: readonly string[] = [
  "Ningxia Zhongwei",
  "Gansu Qingyang",
  "Inner Mongolia Horinger",
  "Guizhou Gui'an",
  "Chengdu Tianfu",
  "Chongqing",
];

export const GPU_CATALOG: ReadonlyArray<{ name: string; vendor: string; memoryGb: number; domestic: boolean }> = [
  { name: "H800", vendor: "NVIDIA", memoryGb: 80, domestic: false },
  { name: "A800", vendor: "NVIDIA", memoryGb: 80, domestic: false },
  { name: "H20", vendor: "NVIDIA", memoryGb: 96, domestic: false },
  { name: "H100", vendor: "NVIDIA", memoryGb: 80, domestic: false },
  { name: "L40S", vendor: "NVIDIA", memoryGb: 48, domestic: false },
  { name: "RTX 4090", vendor: "NVIDIA", memoryGb: 24, domestic: false },
  { name: "Ascend 910B", vendor: "Huawei", memoryGb: 64, domestic: true },
  { name: "Hygon DCU K100", vendor: "Hygon", memoryGb: 64, domestic: true },
  { name: "Cambricon MLU370-X8", vendor: "Cambricon", memoryGb: 48, domestic: true },
];

export async function ensureReferenceData(db: Executor): Promise<void> {
  await db
    .insert(hubs)
    .values([...HUBS])
    .onConflictDoNothing();
  await db
    .insert(gpuModels)
    .values([...GPU_CATALOG])
    .onConflictDoNothing();
}
