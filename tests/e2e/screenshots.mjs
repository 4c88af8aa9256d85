// Writes PNGs of the main screens (desktop 1280×800 and phone 390×844, light and dark) for
// reviewers: node screenshots.mjs [folder]   (default /tmp/letschat-screens)
// Starts its own server with a throwaway database and fills it with a small conversation.

import { mkdirSync } from 'node:fs';
import { startServer, launchBrowser, newUserPage, registerViaApi, apiAs, loginViaUi } from './harness.mjs';

/** A 480×320 PNG drawn by Chromium, uploaded; null when the server has no uploads. */
async function uploadPng(base, token) {
  const page = await browser.newPage({ viewport: { width: 480, height: 320 } });
  await page.setContent('<body style="margin:0;height:320px;background:linear-gradient(#7cc6f2,#f7d79b 60%,#6b8f4e 60%)"></body>');
  const png = await page.screenshot();
  await page.close();
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'view.png');
  const res = await fetch(`${base}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return res.ok ? res.json() : null;
}

const out = process.argv[2] || '/tmp/letschat-screens';
mkdirSync(out, { recursive: true });

const server = await startServer();
const browser = await launchBrowser();
try {
  const alice = await registerViaApi(server.base, 'alice', 'Alice Martin');
  const bob = await registerViaApi(server.base, 'bob', 'Bob Stone');
  const carol = await registerViaApi(server.base, 'carol', 'Carol Diaz');
  const as = (who, method, path, body) => apiAs(server.base, who.accessToken, method, path, body);
  for (const other of [bob, carol]) {
    const { contact } = await as(alice, 'POST', '/api/contacts', { contactId: other.user.id });
    await as(other, 'PUT', `/api/contacts/${contact.id}`, { status: 'accepted' });
  }
  const dm = await as(alice, 'POST', '/api/chats', { type: 'one_on_one', memberIds: [bob.user.id] });
  const say = (who, chat, content, extra = {}) => as(who, 'POST', `/api/chats/${chat.id}/messages`, { content, ...extra });
  await say(bob, dm, 'Hey Alice! Are we still on for Saturday?');
  const q = await say(alice, dm, 'Yes! Hiking at 9, meet at the station 🚉');
  await say(bob, dm, 'Perfect. The trail map is here: https://example.com/trails/ridge-loop', { replyToId: q.id });
  const photo = await uploadPng(server.base, bob.accessToken);
  if (photo) {
    await as(bob, 'POST', `/api/chats/${dm.id}/messages`, { type: 'image', fileId: photo.id, content: 'The view from last time' });
  }
  const last = await say(alice, dm, 'Great, see you there. I will bring snacks.');
  await as(bob, 'POST', `/api/messages/${last.id}/reactions`, { emoji: '👍' });
  await as(bob, 'POST', `/api/chats/${dm.id}/read`, {});
  const group = await as(alice, 'POST', '/api/chats', { type: 'group', name: 'Weekend plans', memberIds: [bob.user.id, carol.user.id] });
  await say(carol, group, 'Who is driving?');
  await say(bob, group, 'I can take three people 🚗');
  const dm2 = await as(carol, 'POST', '/api/chats', { type: 'one_on_one', memberIds: [alice.user.id] });
  await say(carol, dm2, 'Did you see the photos from last week?');
  await as(alice, 'PUT', `/api/chats/${group.id}/settings`, { pinned: true });

  // Each round reads what it is sent, so each one gets its own two unread messages.
  const UNREAD = [
    ['Are you around this weekend?', 'We could try the lake trail'],
    ['Found my old map', 'It has the short loop too'],
    ['Weather looks good', 'Sunny until Sunday'],
    ['Should I bring the tent?', 'Or just day packs?'],
  ];
  let round = 0;
  const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
  for (const theme of ['light', 'dark']) {
    for (const [size, viewport] of Object.entries(sizes)) {
      const page = await newUserPage(browser, server.base, { viewport, colorScheme: theme, deviceScaleFactor: 1 });
      await page.addInitScript((t) => localStorage.setItem('letschat.theme', t), theme);
      const shot = async (name) => {
        await page.waitForTimeout(250);
        await page.screenshot({ path: `${out}/${size}-${theme}-${name}.png` });
      };
      await page.goto('/#/login');
      await page.getByLabel('Username or email').waitFor();
      await shot('login');
      await page.goto('/#/register');
      await page.getByLabel('Email').waitFor();
      await shot('register');
      await loginViaUi(page, 'alice');
      await shot('chat-list');
      await page.getByTestId('chat-row').filter({ hasText: 'Bob Stone' }).click();
      await page.getByTestId('message').filter({ hasText: 'snacks' }).waitFor();
      await shot('chat');
      if (photo) {
        await page.getByTestId('image').first().click();
        await page.locator('dialog.viewer[open]').waitFor();
        await shot('image-viewer');
        await page.keyboard.press('Escape');
      }
      const m = page.getByTestId('message').filter({ hasText: 'trail map' });
      await m.hover();
      await m.getByRole('button', { name: 'Message options' }).click();
      await shot('message-menu');
      await page.keyboard.press('Escape');
      await m.hover();
      await m.getByRole('button', { name: 'Message options' }).click();
      await page.getByRole('menuitem', { name: 'More reactions' }).click();
      await page.getByRole('dialog', { name: 'Choose a reaction' }).waitFor();
      await shot('reaction-picker');
      await page.keyboard.press('Escape');
      const mine = page.getByTestId('message').filter({ hasText: 'snacks' });
      await mine.hover();
      await mine.getByRole('button', { name: 'Message options' }).click();
      await page.getByRole('menuitem', { name: 'Message info' }).click();
      await page.getByTestId('read-by').waitFor();
      await shot('message-info');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Search in chat' }).click();
      await page.getByLabel('Search in this chat').fill('trail');
      await page.getByTestId('search-hit').first().waitFor();
      await shot('chat-search');
      await page.keyboard.press('Escape');
      await page.goto('/#/');
      await page.getByTestId('chat-row').filter({ hasText: 'Weekend plans' }).click();
      await page.getByTestId('message').filter({ hasText: 'three people' }).waitFor();
      await page.getByRole('button', { name: /Group info/ }).click();
      await page.getByTestId('group-info').waitFor();
      await shot('group-info');
      // A chat with unread messages opens at the "N unread messages" divider.
      const [first, second] = UNREAD[round++];
      await say(carol, dm2, first);
      await say(carol, dm2, second);
      await page.goto('/#/');
      await page.getByTestId('chat-row').filter({ hasText: 'Carol Diaz' }).click();
      await page.getByTestId('unread-divider').waitFor();
      await shot('unread');
      await page.goto('/#/');
      await page.getByRole('button', { name: 'Profile and settings' }).click();
      await page.getByTestId('settings').waitFor();
      await shot('settings');
      await page.getByRole('button', { name: 'Back' }).click();
      await page.getByRole('button', { name: /^Contacts/ }).click();
      await page.getByTestId('contacts').getByText('Contacts (2)').waitFor();
      await shot('contacts');
      await page.context().close();
    }
  }
  console.log(`screenshots written to ${out}`);
} finally {
  await browser.close();
  await server.cleanup();
}
