// Stops an npm script early, with one clear line, when it would run on a Node.js that is too old.
// The `node` devDependency puts Node 22 first on PATH for npm scripts; an install made with
// --ignore-scripts skips its set-up, and everything would then run on the system Node.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `edge-api-connector needs Node.js >= 22.12 but npm scripts run on ${process.version}. ` +
      'Run `npm install` without --ignore-scripts (it installs Node 22 into node_modules/.bin), or install Node 22.',
  );
  process.exit(1);
}
