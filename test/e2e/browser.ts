/** Starts Debian's Chromium through Playwright for the browser tests (no browser download). */
import { chromium, type Browser } from 'playwright-core';

export const BASE_URL = process.env.E2E_BASE_URL!;
export const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN!;
export const MOCK_ORIGIN = process.env.E2E_MOCK_ORIGIN!;

/** A headless Chromium with the flags that work as root on a closed network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}
