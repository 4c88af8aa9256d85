// Long histories and small screens: older pages load while scrolling up, "jump to newest"
// returns, and a phone-width window shows one pane at a time.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newUserPage, registerViaApi, apiAs, loginViaUi } from './harness.mjs';

let server;
let browser;
let chatId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const erin = await registerViaApi(server.base, 'erin', 'Erin');
  const frank = await registerViaApi(server.base, 'frank', 'Frank');
  const chat = await apiAs(server.base, erin.accessToken, 'POST', '/api/chats', { type: 'one_on_one', memberIds: [frank.user.id] });
  chatId = chat.id;
  for (let i = 1; i <= 100; i++) {
    const who = i % 3 ? frank : erin;
    await apiAs(server.base, who.accessToken, 'POST', `/api/chats/${chat.id}/messages`, { content: `history line ${i}.` });
  }
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

const line = (page, n) => page.getByTestId('message').filter({ hasText: `history line ${n}.` });

test('scrolling up loads older messages until the start of the conversation', async () => {
  const page = await newUserPage(browser, server.base);
  await loginViaUi(page, 'erin');
  await page.getByTestId('chat-row').filter({ hasText: 'Frank' }).click();
  await line(page, 100).waitFor();
  assert.equal(await line(page, 1).count(), 0, 'only the newest page loads first');
  const list = page.getByTestId('messages');
  const deadline = Date.now() + 10000;
  while ((await line(page, 1).count()) === 0 && Date.now() < deadline) {
    await list.evaluate((el) => el.scrollTo(0, 0));
    await page.waitForTimeout(100);
  }
  await line(page, 1).waitFor();
  await page.getByText('Start of the conversation').waitFor();
  await page.getByRole('button', { name: 'Jump to newest' }).click();
  await line(page, 100).evaluate((el) => new Promise((resolve) => {
    new IntersectionObserver(([entry], observer) => entry.isIntersecting && (observer.disconnect(), resolve())).observe(el);
  }));
  assert.deepEqual(page.errors, []);
});

test('a phone-width window shows the list or the chat, with a way back', async () => {
  const page = await newUserPage(browser, server.base, { viewport: { width: 390, height: 844 } });
  await loginViaUi(page, 'frank');
  const list = page.getByRole('list', { name: 'Chat list' });
  await page.getByTestId('chat-row').filter({ hasText: 'Erin' }).click();
  await line(page, 100).waitFor();
  assert.equal(await list.isVisible(), false);
  await page.getByRole('link', { name: 'Back to chats' }).click();
  await list.waitFor();
  assert.equal(await page.getByTestId('chat-view').count(), 0);
  // Escape closes the chat too, and the URL fragment opens it directly.
  await page.goto(`/#/chat/${chatId}`);
  await line(page, 100).waitFor();
  await page.getByTestId('messages').focus();
  await page.keyboard.press('Escape');
  await list.waitFor();
  assert.deepEqual(page.errors, []);
});
