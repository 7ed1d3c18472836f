import type { Browser } from 'playwright-core';
import { launchChromium } from '../tools/browser.js';

/**
 * `npm run bench -- --console-pages N`: N operations console pages (/ops) signed in and live on the
 * API during the load, each with its feed (samples, health, the stream tail) open, as operators would
 * watch a busy hour. The app's CPU per payment then includes serving them; the browser's own CPU is
 * the machine's, not the app's (a real operator's browser runs elsewhere).
 */
export async function openConsolePages(apiUrl: string, adminKey: string, count: number): Promise<() => Promise<void>> {
  if (count <= 0) return async () => undefined;
  const browser: Browser = await launchChromium();
  try {
    for (let i = 0; i < count; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await context.newPage();
      await page.goto(`${apiUrl}/ops`);
      await page.getByLabel('Admin API key').fill(adminKey);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('feed live').waitFor({ timeout: 15_000 });
    }
  } catch (error) {
    await browser.close();
    throw error;
  }
  return () => browser.close();
}
