/**
 * Builds the renderer into renderer/dist, which the server serves at / (main/server/routes/static.ts). Run from the
 * repo root (`npm run build:renderer`, npm's prepare, or the server when dist is stale).
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Chromium of the last two years: no legacy transforms.
    target: 'es2022',
    // The server's CSP forbids inline scripts: keep even tiny assets as files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
