// Blocking from the contacts drawer (the blocked person cannot send; unblocking restores it), and
// archiving a chat (it stays archived when a message arrives, as the server keeps the setting, and
// comes back when unarchived).

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newUserPage, loginViaUi, people, befriend, chatRow, message, send, shotsOnFailure,
} from './harness.mjs';

let server;
let browser;
let p;
let dm;
const pages = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  p = await people(server.base, ['Rita', 'Sam']);
  await befriend(p.Rita, p.Sam);
  dm = await p.Rita.as('POST', '/api/chats', { type: 'one_on_one', memberIds: [p.Sam.user.id] });
});

afterEach((t) => shotsOnFailure(t, pages));

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

test('a blocked person cannot send, and unblocking restores it', async () => {
  const rita = (pages.rita = await newUserPage(browser, server.base));
  const sam = (pages.sam = await newUserPage(browser, server.base));
  await Promise.all([loginViaUi(rita, 'rita'), loginViaUi(sam, 'sam')]);
  await chatRow(sam, 'Rita').click();

  await rita.getByRole('button', { name: 'Contacts' }).click();
  const contacts = rita.getByTestId('contacts');
  await contacts.getByRole('button', { name: 'Block sam' }).click();
  await contacts.getByText('Blocked (1)').waitFor();
  await contacts.getByText('Contacts (0)').waitFor();

  const box = sam.getByTestId('composer');
  await box.fill('Can you hear me?');
  await box.press('Enter');
  await message(sam, 'Can you hear me?').locator('[data-status="failed"]').waitFor();
  await sam.locator('.toast').filter({ hasText: /^Not sent: / }).waitFor();
  await message(sam, 'Can you hear me?').getByRole('button', { name: 'Retry' }).waitFor();

  await contacts.getByRole('button', { name: 'Unblock sam' }).click();
  await contacts.getByText('Blocked (0)').waitFor();
  await message(sam, 'Can you hear me?').getByRole('button', { name: 'Retry' }).click();
  await message(sam, 'Can you hear me?').locator('[data-status="sent"], [data-status="delivered"], [data-status="read"]').waitFor();
  await send(sam, 'Back in touch');
  await contacts.getByRole('button', { name: 'Back' }).click();
  await chatRow(rita, 'Sam').click();
  await message(rita, 'Can you hear me?').waitFor();
  await message(rita, 'Back in touch').waitFor();
  for (const page of [rita, sam]) assert.deepEqual(page.errors, []);
});

test('an archived chat stays archived on a new message and comes back when unarchived', async () => {
  const { rita } = pages;
  await rita.goto('/#/');
  const list = rita.getByRole('list', { name: 'Chat list' });
  await chatRow(rita, 'Sam').getByRole('button', { name: 'Options for Sam' }).click();
  await rita.getByRole('menuitem', { name: 'Archive chat' }).click();
  await list.getByTestId('chat-row').filter({ hasText: 'Sam' }).waitFor({ state: 'detached' });
  const archivedButton = rita.getByRole('button', { name: /^Archived \(1\)/ });
  await archivedButton.waitFor();

  await p.Sam.as('POST', `/api/chats/${dm.id}/messages`, { content: 'Still there?' });
  await rita.getByTestId('archived-unread').filter({ hasText: '1' }).waitFor();
  assert.equal(await list.getByTestId('chat-row').count(), 0, 'the chat did not come back by itself');

  await archivedButton.click();
  const archived = rita.getByRole('list', { name: 'Archived chats' });
  const row = archived.getByTestId('chat-row').filter({ hasText: 'Sam' });
  await row.getByText('Still there?').waitFor();
  await row.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
  await row.getByRole('button', { name: 'Options for Sam' }).click();
  await rita.getByRole('menuitem', { name: 'Unarchive chat' }).click();
  await row.waitFor({ state: 'detached' });
  await rita.getByRole('button', { name: '← Back to chats' }).click();
  await list.getByTestId('chat-row').filter({ hasText: 'Sam' }).waitFor();
  assert.equal(await rita.getByRole('button', { name: /^Archived/ }).count(), 0);
  assert.deepEqual(rita.errors, []);
});
