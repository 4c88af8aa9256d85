// Account flows in the browser: staying signed in across a reload (refresh token), signing out,
// forgot and reset password through the mail the server writes to its outbox.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, newUserPage, registerViaUi, apiAs, PASSWORD } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

test('a reload stays signed in, logging out returns to the sign-in form', async () => {
  const page = await newUserPage(browser, server.base);
  await registerViaUi(page, 'dora', 'Dora');
  await page.reload();
  await page.getByRole('list', { name: 'Chat list' }).waitFor();
  await page.getByRole('button', { name: 'Profile and settings' }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Username or email').fill('dora');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /invalid credentials/i }).waitFor();
  assert.deepEqual(page.errors, []);
});

test('forgot and reset password with the mailed code', async () => {
  const page = await newUserPage(browser, server.base);
  await page.goto('/#/login');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email').fill('dora@example.com');
  await page.getByRole('button', { name: 'Send reset code' }).click();
  await page.getByText('a reset code is on its way').waitFor();

  const outbox = join(server.dataDir, 'outbox');
  let mail = '';
  for (let i = 0; i < 100 && !mail; i++) {
    const files = (() => {
      try {
        return readdirSync(outbox);
      } catch {
        return [];
      }
    })();
    if (files.length) mail = readFileSync(join(outbox, files[0]), 'utf8');
    else await new Promise((r) => setTimeout(r, 50));
  }
  const code = /Reset code: (\S+)/.exec(mail)[1];
  const link = /(https?:\/\/\S+#\/reset-password\?token=\S+)/.exec(mail);
  assert.ok(link, 'the mail links to the reset form');

  await page.goto(`/#/reset-password?token=${encodeURIComponent(code)}`);
  assert.equal(await page.getByLabel('Reset code').inputValue(), code);
  await page.getByLabel('New password').fill(`${PASSWORD} again`);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText('Your password was changed').waitFor();

  await page.goto('/#/login');
  await page.getByLabel('Username or email').fill('dora');
  await page.getByLabel('Password').fill(`${PASSWORD} again`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('list', { name: 'Chat list' }).waitFor();
  assert.deepEqual(page.errors, []);
});

test('settings: profile, photo, theme, and revoking another session', async () => {
  const page = await newUserPage(browser, server.base);
  await registerViaUi(page, 'gina', 'Gina');
  // A second session, as from another device.
  const other = await apiAs(server.base, null, 'POST', '/api/auth/login', { login: 'gina', password: PASSWORD });
  await page.getByRole('button', { name: 'Profile and settings' }).click();
  const settings = page.getByTestId('settings');
  await settings.getByLabel('About').fill('Hiking & <b>coffee</b>');
  await settings.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Profile saved').waitFor();
  const me = await apiAs(server.base, other.accessToken, 'GET', '/api/auth/me');
  assert.equal(me.user.bio, 'Hiking & <b>coffee</b>');

  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await settings.locator('input[type=file]').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
  await settings.locator('img.avatar').waitFor();

  await settings.getByLabel('Dark').check();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');

  const revoke = settings.getByRole('button', { name: 'Revoke' });
  await revoke.waitFor();
  assert.equal(await revoke.count(), 1);
  await revoke.click();
  await revoke.waitFor({ state: 'detached' });
  const res = await fetch(`${server.base}/api/auth/me`, { headers: { authorization: `Bearer ${other.accessToken}` } });
  assert.equal(res.status, 401);
  assert.deepEqual(page.errors, []);
});
