// What the UI tests do in the workbench, shared: run a command from the palette (or a quick-open
// key), find the status view's frame, the status bar item and a notification. Not a test file.
import type { Frame, Page } from 'playwright-core';
import { waitFor } from '../../scripts/lib/codeServer';

export const statusItem = (page: Page) => page.locator('.statusbar-item', { hasText: 'Hindsight:' }).first();

export const toast = (page: Page, text: string | RegExp) => page.locator('.notification-list-item-message', { hasText: text }).first();

/** F1 (or `key`, e.g. Control+P for quick open), the text — a command's title in the Hindsight category unless told otherwise — then Enter on the first matching row. */
export async function runCommand(page: Page, title: string, category = 'Hindsight: ', key = 'F1') {
  await page.locator('.explorer-folders-view').click({ position: { x: 100, y: 300 } }); // the workbench, not a webview
  await page.keyboard.press(key);
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 60_000 });
  await input.fill(key === 'F1' ? `>${category}${title}` : title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 60_000 });
  await page.keyboard.press('Enter');
}

/** The frame of the status view's page (webviews render inside nested iframes). */
export async function statusFrame(page: Page): Promise<Frame> {
  let view: Frame | undefined;
  await waitFor(async () => {
    for (const f of page.frames()) if (await f.locator('h1[data-state]').count().catch(() => 0)) view = f;
    return view !== undefined;
  }, 90_000, 'the status view');
  return view!;
}
