// `npm run dev`: for working on the code. Vite serves the dashboard with hot reload and runs the
// Worker in workerd (the Cloudflare Vite plugin), on http://127.0.0.1:$PORT (default 8787), with
// the same `.dev.vars` and the same state under .wrangler/state as `npm start`. vite.config.ts
// keeps Miniflare's local explorer and local observability off and leaves CORS to the Worker;
// dev-egress.js keeps outbound connections to public addresses (INSECURE_ALLOW_LOOPBACK: more).
import './check-node.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureDevVars } from './dev-vars.js';

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be a port number, not "${process.env.PORT}".`);
  process.exit(1);
}

const token = ensureDevVars('.dev.vars');
if (token) {
  console.log('\nWrote .dev.vars with a new ADMIN_TOKEN and SECRETS_KEY (shown once; the file keeps them):');
  console.log(`\n  Admin token: ${token}\n`);
}
console.log(`Edge API Connector (dev, hot reload): http://127.0.0.1:${port}\n`);

// Vite's own CLI, run by this Node (not whatever `vite` is first on PATH), in its own process
// group so that stopping ends workerd too; dev-egress.js gives the Worker the same outbound
// limits as under `npm start`.
const viteCli = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));
const egressHook = new URL('./dev-egress.js', import.meta.url).href;
const child = spawn(process.execPath, ['--import', egressHook, viteCli, 'dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
  stdio: 'inherit',
  env: process.env,
  detached: true,
});
let stopping = false;
function stop() {
  if (stopping || !child.pid) return;
  stopping = true;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {}
  setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {}
    process.exit(0);
  }, 3000).unref();
}
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.on(signal, stop);
// The process that started this one gone (npm's shell ended by a signal sent to npm alone): stop.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 500).unref();
child.on('exit', (code, signal) => {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {}
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});
