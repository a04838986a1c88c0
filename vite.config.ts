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
  },
  server: { host: '127.0.0.1', strictPort: true },
  preview: { host: '127.0.0.1', strictPort: true },
});
