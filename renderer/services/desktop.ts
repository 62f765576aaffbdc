/**
 * The desktop shell's bridge (main/electron/preload.ts, its contract in main/electron/ipc-contract.ts): present in the
 * Electron window, undefined in a plain browser, where every page works without it.
 */
import type { DesktopApi } from '../../main/electron/ipc-contract.ts';

export const desktop: DesktopApi | undefined = (window as Window & { plasDesktop?: DesktopApi }).plasDesktop;
