// A tab in the background: desktop notifications and the "(n) letschat" title, a muted chat that
// stays quiet; and one person in two tabs, where sending and reading in one shows in the other.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newUserPage, loginViaUi, people, befriend, chatRow, message, send,
  setHidden, spyOnNotifications, watchErrors, shotsOnFailure,
} from './harness.mjs';

let server;
let browser;
let p;
const pages = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  p = await people(server.base, ['Hana', 'Ivan', 'Kate', 'Liam']);
  await befriend(p.Hana, p.Ivan);
  await befriend(p.Kate, p.Liam);
});

afterEach((t) => shotsOnFailure(t, pages));

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

const title = (page) => page.evaluate(() => document.title);
const notes = (page) => page.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body })));

test('a hidden tab notifies and counts unread messages in its title; a muted chat stays quiet', async () => {
  const dm = await p.Hana.as('POST', '/api/chats', { type: 'one_on_one', memberIds: [p.Ivan.user.id] });
  const group = await p.Hana.as('POST', '/api/chats', { type: 'group', name: 'Book club', memberIds: [p.Ivan.user.id] });
  const hana = (pages.hana = await newUserPage(browser, server.base, { permissions: ['notifications'] }));
  await spyOnNotifications(hana);
  await loginViaUi(hana, 'hana');
  assert.equal(await hana.evaluate(() => Notification.permission), 'granted');
  await chatRow(hana, 'Ivan').click();
  await hana.getByTestId('chat-title').filter({ hasText: 'Ivan' }).waitFor();

  // Seen while the tab is visible: no notification, no count.
  await p.Ivan.as('POST', `/api/chats/${dm.id}/messages`, { content: 'Seen right away' });
  await message(hana, 'Seen right away').waitFor();
  assert.deepEqual(await notes(hana), []);
  assert.equal(await title(hana), 'letschat');

  await setHidden(hana, true);
  await p.Ivan.as('POST', `/api/chats/${dm.id}/messages`, { content: 'Are you there?' });
  await hana.waitForFunction(() => document.title === '(1) letschat');
  assert.deepEqual(await notes(hana), [{ title: 'Ivan', body: 'Are you there?' }]);
  // The open chat is not marked read while nobody looks at it.
  await chatRow(hana, 'Ivan').getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();

  await p.Ivan.as('POST', `/api/chats/${group.id}/messages`, { content: 'Chapter 3 tonight' });
  await hana.waitForFunction(() => document.title === '(2) letschat');
  assert.deepEqual((await notes(hana))[1], { title: 'Ivan in Book club', body: 'Chapter 3 tonight' });

  // Muting the group (from the chat list's menu) silences it.
  await chatRow(hana, 'Book club').getByRole('button', { name: 'Options for Book club' }).click();
  await hana.getByRole('menuitem', { name: 'Mute notifications' }).click();
  await chatRow(hana, 'Book club').getByRole('img', { name: 'Muted' }).waitFor();
  await p.Ivan.as('POST', `/api/chats/${group.id}/messages`, { content: 'Bring snacks' });
  await chatRow(hana, 'Book club').getByText('Bring snacks').waitFor();
  await chatRow(hana, 'Book club').getByTestId('unread-badge').filter({ hasText: '2' }).waitFor();
  assert.equal((await notes(hana)).length, 2, 'a muted chat does not notify');
  assert.equal(await title(hana), '(2) letschat');

  // Back in front: the count goes, the open chat is read; a notification's click opens its chat.
  await setHidden(hana, false);
  await hana.waitForFunction(() => document.title === 'letschat');
  await chatRow(hana, 'Ivan').getByTestId('unread-badge').waitFor({ state: 'detached' });
  await hana.evaluate(() => window.__notes[1].onclick());
  await hana.getByTestId('chat-title').filter({ hasText: 'Book club' }).waitFor();
  await message(hana, 'Bring snacks').waitFor();
  assert.deepEqual(hana.errors, []);
});

test('two tabs of one person: a message sent in one shows in the other, and reading syncs', async () => {
  await p.Kate.as('POST', '/api/chats', { type: 'one_on_one', memberIds: [p.Liam.user.id] });
  const tab1 = (pages.tab1 = await newUserPage(browser, server.base));
  await loginViaUi(tab1, 'kate');
  // The second tab shares the storage: it starts signed in.
  const tab2 = (pages.tab2 = watchErrors(await tab1.context().newPage()));
  await tab2.goto('/');
  await tab2.getByRole('list', { name: 'Chat list' }).waitFor();

  await chatRow(tab1, 'Liam').click();
  await send(tab1, 'Written in tab one');
  await chatRow(tab2, 'Liam').getByText('Written in tab one').waitFor();
  await chatRow(tab2, 'Liam').click();
  await message(tab2, 'Written in tab one').waitFor();
  await send(tab2, 'And this in tab two');
  await message(tab1, 'And this in tab two').waitFor();

  // Both tabs on the chat list; Liam writes; reading it in one tab clears the other's badge.
  await tab1.goto('/#/');
  await tab2.goto('/#/');
  // The list shows beside an open chat too: wait until neither tab has the chat open, or the
  // message would arrive in an open chat and be read at once.
  await tab1.locator('.layout.no-chat').waitFor();
  await tab2.locator('.layout.no-chat').waitFor();
  const dm = (await p.Liam.as('GET', '/api/chats'))[0];
  await p.Liam.as('POST', `/api/chats/${dm.id}/messages`, { content: 'Read me once' });
  await chatRow(tab1, 'Liam').getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
  await chatRow(tab2, 'Liam').getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
  await chatRow(tab1, 'Liam').click();
  await message(tab1, 'Read me once').waitFor();
  await chatRow(tab2, 'Liam').getByTestId('unread-badge').waitFor({ state: 'detached' });
  assert.deepEqual(tab1.errors, []);
  assert.deepEqual(tab2.errors, []);
});
