import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the browser suites put their screenshots: the test results (test-results/, not committed). */
export const SCREENSHOTS = join(process.cwd(), 'test-results', 'ops-console');

/**
 * Debian's Chromium (scripts/install-browser.sh installs it; CHROMIUM_PATH overrides), headless and
 * without the background traffic this machine's closed network would refuse.
 */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core's WCAG 2 A and AA rules on the page as it is now: the violations, each with the nodes at fault. */
export async function accessibilityViolations(page: Page, axeSource: string): Promise<{ id: string; help: string; nodes: string[] }[]> {
  // evaluate() runs in the page without a <script> of its own, so the page's CSP stays as it is.
  await page.evaluate(axeSource);
  // A string, run in the page: these tests are type-checked without the DOM's types.
  return page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then(({ violations }) => violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`);
}
