// The access token is refreshed in the background before it expires, with no visible effect:
// a server issuing 62-second tokens sees the client rotate its refresh token within seconds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newUserPage, registerViaUi } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ env: { LETSCHAT_AUTH__ACCESS_TOKEN_TTL_SECS: '62' } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

test('the access token refreshes silently before it expires', async () => {
  const page = await newUserPage(browser, server.base);
  await registerViaUi(page, 'hana', 'Hana');
  const before = await page.evaluate(() => localStorage.getItem('letschat.refreshToken'));
  const refreshed = await page.waitForResponse((r) => r.url().endsWith('/api/auth/refresh'), { timeout: 15000 });
  assert.equal(refreshed.status(), 200);
  const afterToken = await page.evaluate(() => localStorage.getItem('letschat.refreshToken'));
  assert.notEqual(afterToken, before, 'the refresh token rotated');
  // Still signed in, and API calls still work.
  await page.getByRole('button', { name: 'Contacts' }).click();
  await page.getByText('Contacts (0)').waitFor();
  await page.getByRole('button', { name: 'Back' }).click();
  await page.getByRole('list', { name: 'Chat list' }).waitFor();
  assert.deepEqual(page.errors, []);
});
