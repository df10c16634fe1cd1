import { DASH } from "../format.ts";
import type { TrafficState } from "../store/deployments.ts";

/** How the console writes figures: every missing one as an en dash, never as 0. */
export const ms = (x: number | null | undefined): string => (x === null || x === undefined ? DASH : `${x.toFixed(1)} ms`);
export const count = (x: number): string => x.toLocaleString("en-US");
export const when = (iso: string | null | undefined): string => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : DASH);
export const whenUs = (us: number): string => (us > 0 ? when(new Date(Math.floor(us / 1000)).toISOString()) : DASH);

/** "v3 primary · v4 canary 10% · v4 shadow 50%"; while a bandit runs, its arms first and the primary as its fallback. */
export function serving(s: TrafficState): string {
  const primary = s.primary ? `v${s.primary} primary` : "nothing serves";
  const parts = s.bandit ? [`bandit over ${s.bandit.arms.map((v) => `v${v}`).join(", ")}`, `${primary} (fallback)`] : [primary];
  if (s.canary) parts.push(`v${s.canary.version} canary ${s.canary.percent}%`);
  if (s.shadow) parts.push(`v${s.shadow.version} shadow ${s.shadow.percent}%`);
  return parts.join(" · ");
}
