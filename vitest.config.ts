import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import solid from 'vite-plugin-solid';
import { TEST_ADMIN_TOKEN, TEST_SECRETS_KEY } from './test/support/constants.ts';

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                SECRETS_KEY: TEST_SECRETS_KEY,
                INSECURE_ALLOW_LOOPBACK: 'true',
                MOCK_ORIGIN: inject<string>('mockOrigin'),
                OIDC: inject('oidc'),
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['./test/support/global-setup.ts'],
        },
      },
      {
        test: { name: 'scripts', environment: 'node', include: ['test/scripts/**/*.test.ts'] },
      },
      {
        plugins: [solid()],
        resolve: { conditions: ['development', 'browser'] },
        test: {
          name: 'web',
          environment: 'jsdom',
          include: ['test/web/**/*.test.tsx', 'test/web/**/*.test.ts'],
          setupFiles: ['./test/web/setup.ts'],
        },
      },
    ],
  },
});
