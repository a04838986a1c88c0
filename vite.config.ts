import { cloudflare } from '@cloudflare/vite-plugin';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

// EAC_PERSIST_DIR moves local KV elsewhere (tests and benchmarks use a temporary folder).
const persistDir = process.env.EAC_PERSIST_DIR;

export default defineConfig({
  plugins: [solid(), cloudflare({ persistState: persistDir ? { path: persistDir } : true, inspectorPort: false })],
  build: {
    target: 'es2022',
    sourcemap: false,
    // Vite's preload polyfill is for browsers without modulepreload; every current one has it.
    modulePreload: { polyfill: false },
  },
  environments: {
    // The Worker bundle is minified: upload size counts against the platform's script limit.
    edge_api_connector: { build: { minify: true } },
  },
  server: { host: '127.0.0.1', strictPort: true },
  preview: { host: '127.0.0.1', strictPort: true },
});
