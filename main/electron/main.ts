/**
 * The desktop shell (Electron's main process). It holds no engine and no database: it starts the server as a plain
 * Node child (server-supervisor.ts), shows a starting page until the launch model is loaded, then the app from the
 * server's URL, and applies the window's rules (navigation-policy.ts, ipc-guard.ts). Everything it decides with is in
 * modules tested in plain Node; this file wires them to Electron, which cannot run on the test machines.
 */
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  type MenuItemConstructorOptions,
  type Rectangle,
  safeStorage,
  screen,
  session,
  shell,
  type WebContents,
} from 'electron';
import { defaultDataDir, ensureDataDir } from '../store/data-dir.ts';
import { type InvokeChannel, IPC_CHANNELS, type ServerStatus } from './ipc-contract.ts';
import { checkMessage, type Senders } from './ipc-guard.ts';
import { desktopMasterKey } from './master-key-store.ts';
import { decideNavigation, decideWindowOpen, permissionAllowed } from './navigation-policy.ts';
import { RotatingLog } from './rotating-log.ts';
import { developmentServerCommand, packagedServerCommand } from './server-command.ts';
import { type ServerReady, ServerSupervisor, type SupervisorEvent } from './server-supervisor.ts';
import { loadWindowState, saveWindowState, type WindowState } from './window-state.ts';

// build/electron/main.mjs in a checkout; <resources>/app.asar/build/electron/main.mjs when installed.
const HERE = import.meta.dirname;
const ROOT = process.env.PLAS_ROOT ?? join(HERE, '..', '..');
const STARTING_PAGE = join(HERE, 'starting.html');

if (!app.requestSingleInstanceLock()) {
  app.quit(); // the first instance gets 'second-instance' and comes to the front
} else {
  main();
}

function main(): void {
  const dataDir = ensureDataDir(process.env.PLAS_DATA_DIR || defaultDataDir());
  const log = new RotatingLog(join(dataDir, 'logs', 'server.log'));
  const stateFile = join(dataDir, 'window-state.json');
  const startingUrl = new URL(`file://${STARTING_PAGE.replaceAll('\\', '/')}`).href;
  const senders: Senders = { serverOrigin: null, startingPage: startingUrl };
  let window: BrowserWindow | null = null;
  let server: ServerReady | null = null;
  let lastStatus: ServerStatus = { state: 'starting', attempt: 1 };

  const base = app.isPackaged
    ? packagedServerCommand(process.resourcesPath, process.platform, dataDir, process.env)
    : developmentServerCommand(ROOT, process.env.PLAS_NODE ?? 'node', dataDir, process.env);
  // The master key of provider API keys goes to the server on its stdin (an empty line: no secret storage here).
  const command = { ...base, args: [...base.args, '--master-key-stdin'] };
  let masterKey: string | undefined;
  const secretInput = () =>
    (masterKey ??= desktopMasterKey(dataDir, safeStorage, (m) => log.write(m))?.toString('base64') ?? '');

  const status = (s: ServerStatus) => {
    lastStatus = s;
    if (window && window.webContents.getURL() === startingUrl) window.webContents.send(IPC_CHANNELS.serverStatus, s);
  };
  const showStarting = () => {
    if (window && window.webContents.getURL() !== startingUrl) void window.loadURL(startingUrl);
  };
  const showApp = () => {
    if (window && server) void window.loadURL(`${server.url}/?token=${server.token}`);
  };

  const supervisor = new ServerSupervisor({
    command,
    log,
    secretInput, // read once the app is ready (safeStorage needs it), at the first start
    onEvent: (e: SupervisorEvent) => {
      switch (e.type) {
        case 'starting':
          status({ state: 'starting', attempt: e.attempt });
          break;
        case 'ready':
          server = { url: e.url, port: e.port, token: e.token };
          senders.serverOrigin = e.url;
          break;
        case 'model-progress':
          status({ state: 'loading-model', model: e.model, loaded: e.loaded, total: e.total });
          break;
        case 'model-ready':
        case 'model-error': // the app says what went wrong on its Models page
          showApp();
          break;
        case 'crashed':
          senders.serverOrigin = null;
          showStarting();
          status({ state: 'restarting', inMs: e.restartInMs, exit: e.signal ?? `code ${e.code}` });
          break;
        case 'gave-up':
          showStarting();
          status({
            state: 'failed',
            message: `The server stopped ${e.crashes} times within a minute. Its log is in ${log.path}.`,
            lastLines: e.lastLines,
          });
          break;
      }
    },
  });

  registerIpc(senders, {
    [IPC_CHANNELS.pickModelFolder]: async () => {
      const options = { title: 'Add a model folder', properties: ['openDirectory' as const] };
      const picked = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return picked.canceled ? null : (picked.filePaths[0] ?? null);
    },
    [IPC_CHANNELS.revealDataDir]: async () => {
      await shell.openPath(dataDir);
    },
    [IPC_CHANNELS.appVersion]: async () => app.getVersion(),
    [IPC_CHANNELS.retryServer]: async () => {
      if (supervisor.state === 'gave-up') supervisor.retry();
    },
  });

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  app.on('web-contents-created', (_event, contents) => guardContents(contents, senders, startingUrl));

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    void supervisor.stop().finally(() => app.exit(0));
  });
  app.on('window-all-closed', () => app.quit());

  void app.whenReady().then(() => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((contents, permission, callback) =>
      callback(permissionAllowed(permission, contents.getURL(), senders.serverOrigin)),
    );
    ses.setPermissionCheckHandler((_contents, permission, origin) =>
      permissionAllowed(permission, origin, senders.serverOrigin),
    );
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(dataDir, log.path)));
    window = createWindow(stateFile);
    window.webContents.on('did-finish-load', () => {
      if (window?.webContents.getURL() === startingUrl) window.webContents.send(IPC_CHANNELS.serverStatus, lastStatus);
    });
    window.on('closed', () => {
      window = null;
    });
    void window.loadURL(startingUrl);
    supervisor.start();
  });
}

function createWindow(stateFile: string): BrowserWindow {
  const displays: Rectangle[] = screen.getAllDisplays().map((d) => d.workArea);
  const state = loadWindowState(stateFile, displays);
  const window = new BrowserWindow({
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    width: state.width,
    height: state.height,
    minWidth: 720,
    minHeight: 520,
    title: 'PLAS Studio',
    show: false,
    webPreferences: {
      preload: join(HERE, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    },
  });
  if (state.maximized) window.maximize();
  window.once('ready-to-show', () => window.show());
  const save = () => {
    const b = window.getNormalBounds();
    const next: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: window.isMaximized() };
    saveWindowState(stateFile, next);
  };
  window.on('close', save);
  return window;
}

/** Navigation, new windows and webviews, for every web contents the app creates. */
function guardContents(contents: WebContents, senders: Senders, startingUrl: string): void {
  contents.on('will-navigate', (event, url) => {
    const d = decideNavigation(url, senders.serverOrigin, startingUrl);
    if (d.action === 'allow') return;
    event.preventDefault();
    if (d.action === 'open-external') void shell.openExternal(d.url);
  });
  contents.on('will-redirect', (event, url) => {
    if (decideNavigation(url, senders.serverOrigin, startingUrl).action !== 'allow') event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    const d = decideWindowOpen(url);
    if (d.action === 'open-external') void shell.openExternal(d.url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function registerIpc(senders: Senders, handlers: Record<InvokeChannel, () => Promise<unknown>>): void {
  for (const [channel, handle] of Object.entries(handlers)) {
    ipcMain.handle(channel, (event, ...args: unknown[]) => {
      const frame = event.senderFrame;
      checkMessage(channel, frame?.url, frame !== null && frame === event.sender.mainFrame, args, senders);
      return handle();
    });
  }
}

function menuTemplate(dataDir: string, logPath: string): MenuItemConstructorOptions[] {
  const mac = process.platform === 'darwin';
  const extras: MenuItemConstructorOptions[] = [
    { label: 'Show Data Folder', click: () => void shell.openPath(dataDir) },
    { label: 'Show Server Log', click: () => shell.showItemInFolder(logPath) },
  ];
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    { label: 'File', submenu: [...extras, { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }] },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'PLAS Studio on GitHub', click: () => void shell.openExternal('https://github.com/plas-studio') },
      ],
    },
  ];
}
