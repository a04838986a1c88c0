// A free TCP port on 127.0.0.1, for servers that tests and benchmarks start.
import { createServer } from 'node:net';

/** @returns {Promise<number>} a port nothing listens on right now */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
