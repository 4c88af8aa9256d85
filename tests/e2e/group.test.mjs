// Group administration seen live by everyone: adding a member, a picture, promoting an admin,
// removing a member, and leaving.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newUserPage, loginViaUi, people, befriend, chatRow, PNG_1X1, shotsOnFailure, loadedWidth,
} from './harness.mjs';

let server;
let browser;
let p;
const pages = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  p = await people(server.base, ['Olga', 'Pete', 'Quinn']);
  await befriend(p.Olga, p.Pete);
  await befriend(p.Olga, p.Quinn);
  await p.Olga.as('POST', '/api/chats', { type: 'group', name: 'Choir', memberIds: [p.Pete.user.id] });
});

afterEach((t) => shotsOnFailure(t, pages));

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

const info = (page) => page.getByTestId('group-info');

async function openGroupInfo(page) {
  await chatRow(page, 'Choir').click();
  await page.getByRole('button', { name: 'Group info for Choir' }).click();
  await info(page).waitFor();
}

test('an admin adds, promotes and removes members, and the others see it live', async () => {
  const olga = (pages.olga = await newUserPage(browser, server.base));
  const pete = (pages.pete = await newUserPage(browser, server.base));
  const quinn = (pages.quinn = await newUserPage(browser, server.base));
  await Promise.all([loginViaUi(olga, 'olga'), loginViaUi(pete, 'pete'), loginViaUi(quinn, 'quinn')]);
  await openGroupInfo(olga);
  await openGroupInfo(pete);
  await info(pete).getByText('2 members').waitFor();
  assert.equal(await info(pete).getByRole('button', { name: 'Add members' }).count(), 0, 'members cannot add');

  await info(olga).getByRole('button', { name: 'Add members' }).click();
  await info(olga).getByRole('button', { name: 'Add quinn to the group' }).click();
  await chatRow(quinn, 'Choir').waitFor();
  await info(pete).getByText('3 members').waitFor();
  await info(pete).getByTestId('person').filter({ hasText: 'Quinn' }).waitFor();

  await info(olga).getByRole('button', { name: 'Make pete admin' }).click();
  await info(pete).getByTestId('person').filter({ hasText: 'Pete' }).getByText('admin').waitFor();
  await info(pete).getByRole('button', { name: 'Add members' }).waitFor();
  await info(pete).getByRole('button', { name: 'Remove quinn' }).waitFor();

  await info(olga).getByRole('button', { name: 'Remove quinn' }).click();
  await chatRow(quinn, 'Choir').waitFor({ state: 'detached' });
  await info(pete).getByText('2 members').waitFor();
  assert.equal(await info(pete).getByTestId('person').filter({ hasText: 'Quinn' }).count(), 0);

  // Leaving asks first; the one who left loses the chat, the others see one member fewer.
  pete.once('dialog', (d) => d.accept());
  await info(pete).getByRole('button', { name: 'Leave group' }).click();
  await chatRow(pete, 'Choir').waitFor({ state: 'detached' });
  await info(olga).getByText('Group · 1 member', { exact: true }).waitFor();
  for (const page of [olga, pete, quinn]) assert.deepEqual(page.errors, []);
});

test('an admin sets the group picture and members see it', async () => {
  const { olga, quinn } = pages;
  // Quinn, a member again (added through the API), is not an admin: no picture button.
  const group = (await p.Olga.as('GET', '/api/chats')).find((c) => c.name === 'Choir');
  await p.Olga.as('POST', `/api/chats/${group.id}/members`, { memberId: p.Quinn.user.id });
  await openGroupInfo(quinn);
  assert.equal(await info(quinn).getByRole('button', { name: 'Change group photo' }).count(), 0);

  await info(olga).getByTestId('group-photo-input').setInputFiles({ name: 'choir.png', mimeType: 'image/png', buffer: Buffer.from(PNG_1X1, 'base64') });
  const picture = info(olga).locator('.profile-head img.avatar');
  await picture.waitFor();
  assert.match(await picture.getAttribute('src'), /^\/api\/files\/[0-9a-f-]+\/thumbnail\?/);
  assert.ok((await loadedWidth(picture)) > 0);
  await info(quinn).locator('.profile-head img.avatar').waitFor();
  await chatRow(quinn, 'Choir').locator('img.avatar').waitFor();
  await olga.getByTestId('chat-view').locator('.chat-header img.avatar').waitFor();
  // Escape closes the panel without leaving the chat.
  await olga.keyboard.press('Escape');
  await info(olga).waitFor({ state: 'detached' });
  await olga.getByTestId('chat-view').waitFor();
  for (const page of [olga, quinn]) assert.deepEqual(page.errors, []);
});
