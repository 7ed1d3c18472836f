import type { Browser } from 'playwright-core';
import { launchChromium } from '../tools/browser.js';

/**
 * `npm run bench -- --console-feeds N`: what N open console pages ask of the app, without a browser:
 * each a reader of the live feed (SSE, its bytes read and dropped) and the page's polls (dead letters
 * every 5 s, webhook endpoints every 10 s). On a machine whose cores the app shares, this tells the
 * app's own cost apart from the browser's rendering.
 */
export async function openConsoleFeeds(apiUrl: string, adminKey: string, count: number): Promise<() => Promise<void>> {
  const abort = new AbortController();
  const headers = { authorization: `Bearer ${adminKey}` };
  const poll = (path: string, everyMs: number) =>
    setInterval(() => void fetch(`${apiUrl}${path}`, { headers, signal: abort.signal }).then((r) => r.arrayBuffer(), () => undefined), everyMs);
  const readers = await Promise.all(
    Array.from({ length: count }, async () => {
      const feed = await fetch(`${apiUrl}/ops/api/feed`, { headers, signal: abort.signal });
      if (!feed.ok || !feed.body) throw new Error(`console feed: ${feed.status}`);
      const reader = feed.body.getReader();
      const drained = (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done);
      })();
      return { timers: [poll('/api/admin/dead-letters?limit=50', 5000), poll('/api/webhook-endpoints', 10_000)], drained };
    }),
  );
  return async () => {
    for (const { timers } of readers) timers.forEach(clearInterval);
    abort.abort();
    await Promise.all(readers.map((r) => r.drained));
  };
}

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
  let closed: Promise<void> | undefined;
  return () => (closed ??= browser.close());
}
