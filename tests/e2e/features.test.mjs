// The smaller WhatsApp-like screens: message info (delivered/read), the unread divider, search
// within one chat with jump-to-message, and the fuller reaction picker.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newUserPage, loginViaUi, people, befriend, chatRow, message, send, openMessageMenu, shotsOnFailure,
} from './harness.mjs';

let server;
let browser;
let p;
let dm;
let group;
const pages = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  p = await people(server.base, ['Tina', 'Umar', 'Vera']);
  await befriend(p.Tina, p.Umar);
  await befriend(p.Tina, p.Vera);
  dm = await p.Tina.as('POST', '/api/chats', { type: 'one_on_one', memberIds: [p.Umar.user.id] });
  group = await p.Tina.as('POST', '/api/chats', { type: 'group', name: 'Lab', memberIds: [p.Umar.user.id, p.Vera.user.id] });
  // An old message to find, under more than one page of newer ones; all read by Tina.
  const say = (who, chat, content) => who.as('POST', `/api/chats/${chat.id}/messages`, { content });
  await say(p.Umar, dm, 'the needle in the haystack');
  await say(p.Umar, group, 'a needle in another chat');
  for (let i = 1; i <= 45; i++) await say(i % 2 ? p.Umar : p.Tina, dm, `filler ${i}`);
  await p.Tina.as('POST', `/api/chats/${dm.id}/read`, {});
  await p.Tina.as('POST', `/api/chats/${group.id}/read`, {});
});

afterEach((t) => shotsOnFailure(t, pages));

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

test('the unread divider marks the first unread message when opening a chat', async () => {
  const tina = (pages.tina = await newUserPage(browser, server.base));
  await loginViaUi(tina, 'tina');
  for (const n of ['one', 'two', 'three']) await p.Umar.as('POST', `/api/chats/${dm.id}/messages`, { content: `unread ${n}` });
  await chatRow(tina, 'Umar').getByTestId('unread-badge').filter({ hasText: '3' }).waitFor();
  await chatRow(tina, 'Umar').click();
  const divider = tina.getByTestId('unread-divider');
  await divider.filter({ hasText: '3 unread messages' }).waitFor();
  const around = await divider.evaluate((el) => [el.previousElementSibling.textContent, el.nextElementSibling.textContent]);
  assert.match(around[0], /filler 45/);
  assert.match(around[1], /unread one/);
  assert.ok(await divider.isVisible());
  // Reading does not move it, and a message arriving now gets no second divider.
  await send(tina, 'got them');
  await p.Umar.as('POST', `/api/chats/${dm.id}/messages`, { content: 'one more' });
  await message(tina, 'one more').waitFor();
  assert.equal(await tina.getByTestId('unread-divider').count(), 1);
  assert.match(await divider.evaluate((el) => el.nextElementSibling.textContent), /unread one/);
  // Opening the chat again: everything is read, no divider.
  await tina.goto('/#/');
  await chatRow(tina, 'Umar').click();
  await message(tina, 'one more').waitFor();
  assert.equal(await tina.getByTestId('unread-divider').count(), 0);
});

test('search within a chat finds only its messages and jumps to an old one', async () => {
  const { tina } = pages;
  await tina.getByRole('button', { name: 'Search in chat' }).click();
  const panel = tina.getByTestId('chat-search');
  await panel.getByLabel('Search in this chat').fill('needle');
  const hit = panel.getByTestId('search-hit');
  await hit.filter({ hasText: 'the needle in the haystack' }).waitFor();
  assert.equal(await hit.count(), 1, 'the other chat\'s needle is not listed');
  assert.equal(await message(tina, 'the needle in the haystack').count(), 0, 'not loaded before the jump');
  await hit.click();
  await tina.locator('.msg.highlight').filter({ hasText: 'the needle in the haystack' }).waitFor();
  await tina.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  await tina.getByTestId('chat-view').waitFor();
  assert.deepEqual(tina.errors, []);
});

test('message info shows who received and who read a message', async () => {
  const { tina } = pages;
  const umar = (pages.umar = await newUserPage(browser, server.base));
  const vera = (pages.vera = await newUserPage(browser, server.base));
  await Promise.all([loginViaUi(umar, 'umar'), loginViaUi(vera, 'vera')]);
  await chatRow(umar, 'Lab').click();
  await tina.goto('/#/');
  await chatRow(tina, 'Lab').click();
  await send(tina, 'Who saw this?');
  await message(umar, 'Who saw this?').waitFor();
  await chatRow(vera, 'Lab').getByText('Who saw this?').waitFor();

  await openMessageMenu(tina, 'Who saw this?');
  await tina.getByRole('menuitem', { name: 'Message info' }).click();
  const dialog = tina.getByRole('dialog', { name: 'Message info' });
  await dialog.getByTestId('read-by').getByTestId('receipt').filter({ hasText: 'Umar' }).waitFor();
  await dialog.getByTestId('delivered-to').getByTestId('receipt').filter({ hasText: 'Vera' }).waitFor();
  assert.equal(await dialog.getByTestId('read-by').getByText('Vera').count(), 0);
  // Live: Vera reads it while the screen is open.
  await chatRow(vera, 'Lab').click();
  await dialog.getByTestId('read-by').getByTestId('receipt').filter({ hasText: 'Vera' }).waitFor();
  await dialog.getByTestId('delivered-to').getByText('Nobody else yet').waitFor();
  await tina.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await tina.getByTestId('chat-view').waitFor();

  // Not offered for other people's messages.
  await openMessageMenu(tina, 'a needle in another chat');
  await tina.getByRole('menuitem', { name: 'Reply' }).waitFor();
  assert.equal(await tina.getByRole('menuitem', { name: 'Message info' }).count(), 0);
  await tina.keyboard.press('Escape');
  // Closed before the next test opens it again (a click on an open menu's button closes it).
  await tina.getByRole('menuitem', { name: 'Reply' }).waitFor({ state: 'detached' });
});

test('the reaction picker works with the keyboard and the others see the reaction', async () => {
  const { tina, umar } = pages;
  await openMessageMenu(tina, 'a needle in another chat');
  await tina.getByRole('menuitem', { name: 'More reactions' }).click();
  const picker = tina.getByRole('dialog', { name: 'Choose a reaction' });
  await picker.waitFor();
  // Escape closes it without reacting.
  await tina.keyboard.press('Escape');
  await picker.waitFor({ state: 'detached' });

  await openMessageMenu(tina, 'a needle in another chat');
  await tina.getByRole('menuitem', { name: 'More reactions' }).click();
  await picker.getByRole('button', { name: 'React 👍' }).and(tina.locator(':focus')).waitFor();
  // One row down (8 columns) and one to the right: the tenth emoji.
  await tina.keyboard.press('ArrowDown');
  await tina.keyboard.press('ArrowRight');
  await picker.getByRole('button', { name: 'React 😊' }).and(tina.locator(':focus')).waitFor();
  await tina.keyboard.press('Enter');
  await picker.waitFor({ state: 'detached' });
  await message(umar, 'a needle in another chat').getByTestId('reactions').getByRole('button', { name: '😊 1' }).waitFor();
  await message(tina, 'a needle in another chat').getByRole('button', { name: '😊 1' }).waitFor();
  for (const page of [tina, umar, pages.vera]) assert.deepEqual(page.errors, []);
});
