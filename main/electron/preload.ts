/**
 * The preload script: the only bridge between the pages and the main process. It exposes `window.plasDesktop` (the
 * DesktopApi of ipc-contract.ts) through contextBridge, never ipcRenderer itself. It runs sandboxed, so it is bundled
 * into one CommonJS file, preload.cjs (tools/build-desktop.ts), with the contract's channel names inlined.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { type DesktopApi, IPC_CHANNELS, type ServerStatus } from './ipc-contract.ts';

const api: DesktopApi = {
  pickModelFolder: () => ipcRenderer.invoke(IPC_CHANNELS.pickModelFolder),
  revealDataDir: () => ipcRenderer.invoke(IPC_CHANNELS.revealDataDir),
  appVersion: () => ipcRenderer.invoke(IPC_CHANNELS.appVersion),
  retryServer: () => ipcRenderer.invoke(IPC_CHANNELS.retryServer),
  onServerStatus(listener) {
    const wrapped = (_event: IpcRendererEvent, status: ServerStatus) => listener(status);
    ipcRenderer.on(IPC_CHANNELS.serverStatus, wrapped);
    return () => ipcRenderer.off(IPC_CHANNELS.serverStatus, wrapped);
  },
};

contextBridge.exposeInMainWorld('plasDesktop', api);
