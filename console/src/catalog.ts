// What every form chooses from: the ten national hubs (as the API spells them) and the catalog.
import { gql } from "./api.js";
import { CatalogDocument } from "./graphql/generated.js";
import { useLoad } from "./ui.js";

export const HUBS = [
  "Zhangjiakou",
  "Yangtze Delta",
  "Wuhu",
  "Shaoguan",
  "Chengdu Tianfu",
  "Chongqing",
  "Inner Mongolia Horinger",
  "Guizhou Gui'an",
  "Gansu Qingyang",
  "Ningxia Zhongwei",
] as const;

/** The GPU models and data centers (public, read once per view). */
export const useCatalog = () => useLoad(() => gql(CatalogDocument), []);

/** The parameters after `?` in the URL's fragment, like #/rent?model=H800. */
export function hashParams(): URLSearchParams {
  const hash = location.hash;
  const mark = hash.indexOf("?");
  return new URLSearchParams(mark < 0 ? "" : hash.slice(mark + 1));
}
