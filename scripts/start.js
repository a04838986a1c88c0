// `npm start`: dashboard and API on http://127.0.0.1:$PORT (default 8787) with local KV on disk
// (.wrangler/state), after writing `.dev.vars` on first start. Vite serves the dashboard with hot
// reload and runs the Worker in workerd.
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
console.log(`Edge API Connector: http://127.0.0.1:${port}\n`);

// Vite's own CLI, run by this Node (not whatever `vite` is first on PATH).
const viteCli = fileURLToPath(new URL('../node_modules/vite/bin/vite.js', import.meta.url));
const child = spawn(process.execPath, [viteCli, 'dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
  stdio: 'inherit',
  env: process.env,
});
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
