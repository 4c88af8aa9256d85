// The web client end to end: three people in separate browser contexts against the real binary.
// Each step waits for what the other side sees, every wait bounded (WAIT_MS in harness.mjs).

import { test, before, after, afterEach } from 'node:test';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import {
  startServer,
  launchBrowser,
  newUserPage,
  registerViaUi,
  registerViaApi,
  loginViaUi,
  apiAs,
  loadedWidth,
} from './harness.mjs';

let server;
let browser;
let alice;
let bob;
let carol;
let carolAuth;

const XSS_NAME = 'Bob <img src=x onerror="window.__xss=1">';

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

// A failing step leaves screenshots of every page behind, for the CI log reader.
afterEach(async (t) => {
  if (!t.passed && !t.skipped) {
    const dir = process.env.E2E_FAILURES || '/tmp/letschat-e2e-failures';
    mkdirSync(dir, { recursive: true });
    for (const [name, page] of Object.entries({ alice, bob, carol })) {
      if (page) await page.screenshot({ path: `${dir}/${t.name.slice(0, 40).replace(/\W+/g, '-')}-${name}.png` }).catch(() => {});
    }
  }
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

const chatRow = (page, name) => page.getByTestId('chat-row').filter({ hasText: name });
const message = (page, text) => page.getByTestId('message').filter({ hasText: text });

async function send(page, text) {
  const box = page.getByTestId('composer');
  await box.fill(text);
  await box.press('Enter');
  await message(page, text).getByTestId('ticks').and(page.locator('[data-status="sent"], [data-status="delivered"], [data-status="read"]')).waitFor();
}

async function openMessageMenu(page, text) {
  const m = message(page, text).last();
  await m.hover();
  await m.getByRole('button', { name: 'Message options' }).click();
  return m;
}

test('people register, find each other and become contacts', async () => {
  alice = await newUserPage(browser, server.base);
  bob = await newUserPage(browser, server.base);
  await registerViaUi(alice, 'alice', 'Alice');
  await registerViaUi(bob, 'bob', XSS_NAME);

  await alice.getByRole('button', { name: 'Contacts' }).click();
  await alice.getByLabel('Find people').fill('bob');
  await alice.getByRole('button', { name: 'Add bob as a contact' }).click();
  await alice.getByText('Requests sent (1)').waitFor();

  await bob.getByRole('button', { name: /1 contact requests/ }).waitFor();
  await bob.getByRole('button', { name: 'Contacts' }).click();
  await bob.getByRole('button', { name: 'Accept alice' }).click();
  await bob.getByText('Contacts (1)').waitFor();
  await bob.getByRole('button', { name: 'Back' }).click();
  await alice.getByText('Contacts (1)').waitFor();
  // The display name is text, not markup.
  await alice.getByText(XSS_NAME, { exact: true }).first().waitFor();
  assert.equal(await alice.locator('img[src="x"]').count(), 0);
});

test('a one-on-one chat delivers live with ticks, typing and unread badges', async () => {
  await alice.getByRole('button', { name: 'Message bob' }).click();
  await alice.getByTestId('chat-title').filter({ hasText: XSS_NAME }).waitFor();
  await send(alice, 'Hello Bob!');

  const row = chatRow(bob, 'Alice');
  await row.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
  await row.getByText('Hello Bob!').waitFor();
  await message(alice, 'Hello Bob!').locator('[data-status="delivered"], [data-status="read"]').waitFor();

  await row.click();
  await message(bob, 'Hello Bob!').waitFor();
  await message(alice, 'Hello Bob!').locator('[data-status="read"]').waitFor();
  assert.equal(await row.getByTestId('unread-badge').count(), 0);

  await bob.getByTestId('composer').pressSequentially('typing away', { delay: 20 });
  await alice.getByTestId('typing').waitFor();
  await bob.getByTestId('composer').fill('');
  await bob.getByTestId('composer').blur();
  await alice.getByTestId('typing').waitFor({ state: 'detached' });
  // Shift+Enter makes a new line instead of sending.
  await bob.getByTestId('composer').press('Shift+Enter');
  assert.equal(await message(alice, 'typing away').count(), 0);
});

test('reply, react, edit and delete reach the other side', async () => {
  await openMessageMenu(bob, 'Hello Bob!');
  await bob.getByRole('menuitem', { name: 'Reply' }).click();
  await bob.getByTestId('compose-context').waitFor();
  await send(bob, 'Hi Alice, replying');
  const reply = message(alice, 'Hi Alice, replying');
  await reply.getByTestId('quote').filter({ hasText: 'Hello Bob!' }).waitFor();

  await openMessageMenu(alice, 'Hi Alice, replying');
  await alice.getByRole('menuitem', { name: 'React 👍' }).click();
  await message(bob, 'Hi Alice, replying').getByTestId('reactions').filter({ hasText: '👍' }).waitFor();

  // Arrow-up in an empty composer edits the last own message.
  await send(alice, 'This has a tpyo');
  await alice.getByTestId('composer').press('ArrowUp');
  await alice.getByTestId('compose-context').filter({ hasText: 'Edit message' }).waitFor();
  await alice.getByTestId('composer').fill('This has no typo');
  await alice.getByTestId('composer').press('Enter');
  const edited = message(bob, 'This has no typo');
  await edited.getByTestId('edited').waitFor();
  assert.equal(await message(bob, 'tpyo').count(), 0);

  await send(alice, 'Oops, wrong chat');
  await message(bob, 'Oops, wrong chat').waitFor();
  await openMessageMenu(alice, 'Oops, wrong chat');
  await alice.getByRole('menuitem', { name: 'Delete for everyone' }).click();
  await message(bob, 'This message was deleted').waitFor();
  assert.equal(await message(bob, 'Oops, wrong chat').count(), 0);
});

test('message text is never interpreted as HTML and links open safely', async () => {
  const attack = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> see https://example.com/a?b=1 now';
  await send(alice, attack);
  const received = message(bob, 'see https://example.com');
  await received.waitFor();
  const content = received.getByTestId('content');
  assert.ok((await content.textContent()).includes('<img src=x onerror="window.__xss=1"><script>'));
  assert.equal(await received.locator('img, script').count(), 0);
  const link = content.getByRole('link', { name: 'https://example.com/a?b=1' });
  assert.equal(await link.getAttribute('href'), 'https://example.com/a?b=1');
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await bob.evaluate(() => window.__xss), undefined);
  assert.equal(await alice.evaluate(() => window.__xss), undefined);
});

test('a group chat delivers to every member live', async () => {
  carolAuth = await registerViaApi(server.base, 'carol', 'Carol');
  const aliceId = await alice.evaluate(() => window.letschat.state.me.id);
  const req = await apiAs(server.base, carolAuth.accessToken, 'POST', '/api/contacts', { contactId: aliceId });
  await alice.getByRole('button', { name: 'Back', exact: true }).waitFor({ state: 'detached' }).catch(() => {});
  // Alice accepts through the interface: the request arrives live.
  await alice.goto(`${server.base}/#/`);
  await alice.getByRole('button', { name: /1 contact requests/ }).waitFor();
  await alice.getByRole('button', { name: 'Contacts' }).click();
  await alice.getByRole('button', { name: 'Accept carol' }).click();
  await alice.getByText('Contacts (2)').waitFor();
  assert.ok(req.contact.id);
  await alice.getByRole('button', { name: 'Back' }).click();

  carol = await newUserPage(browser, server.base);
  await loginViaUi(carol, 'carol');

  await alice.getByRole('button', { name: 'New group' }).click();
  await alice.getByLabel('Group name').fill('Weekend plans');
  await alice.getByLabel('Add bob').check();
  await alice.getByLabel('Add Carol').check();
  await alice.getByRole('button', { name: 'Create group' }).click();
  await alice.getByTestId('chat-title').filter({ hasText: 'Weekend plans' }).waitFor();

  await chatRow(bob, 'Weekend plans').waitFor();
  await chatRow(carol, 'Weekend plans').click();
  await send(carol, 'Hiking on Saturday?');
  await send(alice, 'Count me in');
  await message(carol, 'Count me in').waitFor();
  await chatRow(bob, 'Weekend plans').getByTestId('unread-badge').filter({ hasText: '2' }).waitFor();
  await chatRow(bob, 'Weekend plans').click();
  await message(bob, 'Hiking on Saturday?').getByText('Carol').waitFor();
  await message(alice, 'Count me in').locator('[data-status="read"]').waitFor();

  await alice.getByRole('button', { name: /Group info/ }).click();
  await alice.getByTestId('group-info').getByText('3 members').waitFor();
  await alice.getByRole('button', { name: 'Close info' }).click();
});

test('message search jumps to the message', async () => {
  await alice.goto(`${server.base}/#/`);
  await alice.getByRole('button', { name: 'Search messages' }).click();
  await alice.getByLabel('Search all messages').fill('Hiking');
  await alice.getByTestId('search-hit').filter({ hasText: 'Hiking on Saturday?' }).click();
  await alice.getByTestId('chat-title').filter({ hasText: 'Weekend plans' }).waitFor();
  await alice.locator('.msg.highlight').filter({ hasText: 'Hiking on Saturday?' }).waitFor();
});

test('pin, star and forward', async () => {
  await openMessageMenu(alice, 'Hiking on Saturday?');
  await alice.getByRole('menuitem', { name: 'Pin' }).click();
  await bob.getByRole('button', { name: 'Go to pinned message' }).filter({ hasText: 'Hiking on Saturday?' }).waitFor();

  await openMessageMenu(alice, 'Hiking on Saturday?');
  await alice.getByRole('menuitem', { name: 'Star' }).click();
  await message(alice, 'Hiking on Saturday?').getByRole('img', { name: 'Starred' }).waitFor();

  await openMessageMenu(alice, 'Count me in');
  await alice.getByRole('menuitem', { name: 'Forward' }).click();
  const dialog = alice.getByRole('dialog', { name: 'Forward message' });
  await dialog.getByLabel(XSS_NAME).check();
  await dialog.getByRole('button', { name: 'Forward' }).click();
  await chatRow(bob, 'Alice').getByText('Count me in').waitFor();

  // The search drawer stays open beside the chat, as it does on desktop; close it first.
  await alice.getByRole('button', { name: 'Back', exact: true }).click();
  await alice.getByRole('button', { name: 'Starred messages' }).click();
  await alice.getByTestId('search-hit').filter({ hasText: 'Hiking on Saturday?' }).click();
  await alice.locator('.msg.highlight').filter({ hasText: 'Hiking on Saturday?' }).waitFor();
});

test('an uploaded image is seen by the other side', async (t) => {
  const probe = await fetch(`${server.base}/api/upload`, { method: 'POST' });
  if (probe.status === 404) {
    t.skip('uploads are not in the API yet');
    return;
  }
  // A 1×1 PNG.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await alice.locator('input[type=file]').first().setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
  const image = bob.getByTestId('message').last().getByTestId('image');
  await image.waitFor();
  assert.ok((await loadedWidth(image)) > 0);
});

test('after a server restart the client reconnects and catches up through /api/sync', async () => {
  await server.stop();
  await alice.getByTestId('offline-banner').waitFor();
  await bob.getByTestId('offline-banner').waitFor();
  const synced = alice.waitForRequest((r) => r.url().includes('/api/sync?since='), { timeout: 20000 });
  await server.start();
  // Sent before Alice's socket is back: she gets it from the catch-up, or live, never not at all.
  const groupId = await alice.evaluate(() => window.letschat.state.activeChatId);
  await apiAs(server.base, carolAuth.accessToken, 'POST', `/api/chats/${groupId}/messages`, { content: 'Sent while you were away' });
  await synced;
  await message(alice, 'Sent while you were away').waitFor();
  await alice.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 20000 });
  await bob.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 20000 });
  await send(bob, 'Back online');
  await message(alice, 'Back online').waitFor();
  await message(carol, 'Back online').waitFor();
});

test('no page raised a script error', () => {
  for (const page of [alice, bob, carol]) assert.deepEqual(page.errors, []);
});
