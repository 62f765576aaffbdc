/**
 * The window's size and position, remembered across launches in `<dataDir>/window-state.json`. The file is untrusted
 * (hand-edited, from another machine, half-written): anything malformed gives the default, and a saved position that
 * is no longer on any display (a monitor unplugged) is dropped so the window never opens off-screen.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Absent: let the system place the window. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW: WindowState = { width: 1280, height: 840, maximized: false };
export const MIN_SIZE = { width: 720, height: 520 } as const;

const int = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e6;

/** Parses a saved state; null when the text is not one. */
export function parseWindowState(text: string): WindowState | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!int(o.width) || !int(o.height) || typeof o.maximized !== 'boolean') return null;
  const state: WindowState = { width: o.width, height: o.height, maximized: o.maximized };
  if (int(o.x) && int(o.y)) {
    state.x = o.x;
    state.y = o.y;
  }
  return state;
}

/**
 * The state to open with on these displays (their work areas): size clamped to at least MIN_SIZE and at most the
 * largest display; a position kept only when the window's title bar area overlaps a display.
 */
export function fitToDisplays(state: WindowState, displays: readonly Rect[]): WindowState {
  const maxW = Math.max(MIN_SIZE.width, ...displays.map((d) => d.width));
  const maxH = Math.max(MIN_SIZE.height, ...displays.map((d) => d.height));
  const width = Math.min(Math.max(state.width, MIN_SIZE.width), maxW);
  const height = Math.min(Math.max(state.height, MIN_SIZE.height), maxH);
  const out: WindowState = { width, height, maximized: state.maximized };
  if (state.x !== undefined && state.y !== undefined) {
    // The top 40 px across the window: where the user grabs it. Some of it must be on a display.
    const bar: Rect = { x: state.x, y: state.y, width, height: 40 };
    if (displays.some((d) => overlap(bar, d) >= 40 * 40)) {
      out.x = state.x;
      out.y = state.y;
    }
  }
  return out;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

export function loadWindowState(path: string, displays: readonly Rect[]): WindowState {
  const saved = existsSync(path) ? parseWindowState(readFileSync(path, 'utf8')) : null;
  return fitToDisplays(saved ?? DEFAULT_WINDOW, displays);
}

/** Written to a temp file and renamed: a crash mid-write leaves the old state, never half a file. */
export function saveWindowState(path: string, state: WindowState): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}
