/**
 * The colour of a density (share of KV blocks attended, 0..1), shared by the heatmap, its legend and the speed
 * chart's points: viridis (perceptually even, readable by colour-blind users, and in print as grey). Sparse is
 * dark purple, dense is yellow; it reads on the light and the dark theme alike.
 */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** `rgb(...)` for a density in [0, 1] (clamped). */
export function densityColor(density: number): string {
  const t = Math.min(1, Math.max(0, density)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  const mix = (k: number) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
}

/** The legend's gradient stops: offset (0..1) and colour. */
export const LEGEND_STOPS = STOPS.map((_, i) => {
  const offset = i / (STOPS.length - 1);
  return { offset, color: densityColor(offset) };
});

/** "37%" (whole percent; "<1%" for tiny non-zero shares); an em dash for no data. */
export function percent(density: number | null): string {
  if (density === null) return '—';
  if (density > 0 && density < 0.005) return '<1%';
  return `${Math.round(density * 100)}%`;
}
