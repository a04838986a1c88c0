import { cloudflare } from '@cloudflare/vite-plugin';
import { defineConfig, type Plugin } from 'vite';
import solid from 'vite-plugin-solid';

// EAC_PERSIST_DIR moves local state elsewhere (tests and benchmarks use a temporary folder).
const persistDir = process.env.EAC_PERSIST_DIR;

// Miniflare's local explorer reads and writes every KV entry without the admin token, on the
// app's own port; local observability stores every subrequest URL (query included) on disk.
// Both stay off in `npm run dev` unless asked for explicitly.
process.env.X_LOCAL_EXPLORER ??= 'false';
process.env.X_LOCAL_OBSERVABILITY ??= 'false';

/**
 * The Cloudflare plugin writes the local secrets (`.dev.vars`) beside the built Worker, for
 * `vite preview`. They stay out of the build: `npm start` reads `.dev.vars` where it is.
 */
function noSecretsInBuild(): Plugin {
  return {
    name: 'eac:no-secrets-in-build',
    generateBundle: {
      order: 'post',
      handler(_options, bundle) {
        for (const fileName of Object.keys(bundle)) {
          if (/(^|\/)\.dev\.vars(\..*)?$|(^|\/)\.env(\..*)?$/.test(fileName)) delete bundle[fileName];
        }
      },
    },
  };
}

export default defineConfig({
  plugins: [solid(), cloudflare({ persistState: persistDir ? { path: persistDir } : true, inspectorPort: false }), noSecretsInBuild()],
  build: {
    target: 'es2022',
    sourcemap: false,
    // Vite's preload polyfill is for browsers without modulepreload; every current one has it.
    modulePreload: { polyfill: false },
    rolldownOptions: {
      output: {
        // What the first load runs (Solid, the router, the API client and the components every
        // page shares) in one chunk: split by which lazy pages import them, it became several
        // small chunks that gzip worse each on its own.
        codeSplitting: {
          groups: [
            {
              name: 'app',
              test: /[\\/]node_modules[\\/](solid-js|@solidjs)[\\/]|[\\/]web[\\/](api[\\/]|data\.ts|format\.ts|session\.ts|app\.tsx|pages[\\/](connections|sign-in)-page\.tsx|components[\\/](busy|problem-alert|loading-boundary|page-title|notices|time-ago|breakable-url|brand-mark)\.tsx?)/,
            },
          ],
        },
      },
    },
  },
  environments: {
    // The Worker bundle is minified: upload size counts against the platform's script limit.
    edge_api_connector: { build: { minify: true } },
  },
  // `cors: false`: the Worker answers CORS itself (the relay from each connection's policy);
  // Vite's own CORS middleware would answer every OPTIONS before the Worker sees it.
  server: { host: '127.0.0.1', strictPort: true, cors: false },
  preview: { host: '127.0.0.1', strictPort: true, cors: false },
});
