// Attachments without the file picker: dropping a file on the composer, and pasting one.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, launchBrowser, newUserPage, loginViaUi, people, befriend, chatRow, PNG_1X1, shotsOnFailure, loadedWidth,
} from './harness.mjs';

let server;
let browser;
const pages = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const p = await people(server.base, ['Mona', 'Nick']);
  await befriend(p.Mona, p.Nick);
  await p.Mona.as('POST', '/api/chats', { type: 'one_on_one', memberIds: [p.Nick.user.id] });
});

afterEach((t) => shotsOnFailure(t, pages));

after(async () => {
  if (browser) await browser.close();
  if (server) await server.cleanup();
});

/** Dispatches a synthetic drop (`kind: 'drop'`) or paste carrying one file, as a browser would. */
function deliverFile(page, kind, { name, type, base64 }) {
  return page.evaluate(({ kind, name, type, base64 }) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type }));
    if (kind === 'drop') {
      const zone = document.querySelector('.composer-wrap');
      zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    } else {
      const box = document.querySelector('[data-testid="composer"]');
      box.focus();
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }
  }, { kind, name, type, base64 });
}

test('a file dropped on the composer or pasted into it is sent', async () => {
  const mona = (pages.mona = await newUserPage(browser, server.base));
  const nick = (pages.nick = await newUserPage(browser, server.base));
  await loginViaUi(mona, 'mona');
  await loginViaUi(nick, 'nick');
  await chatRow(mona, 'Nick').click();
  await chatRow(nick, 'Mona').click();

  await deliverFile(mona, 'drop', { name: 'dropped.png', type: 'image/png', base64: PNG_1X1 });
  const image = nick.locator('[data-testid="message"] img[alt="dropped.png"]');
  await image.waitFor();
  assert.ok((await loadedWidth(image)) > 0);
  await mona.locator('[data-testid="message"] img[alt="dropped.png"]').waitFor();
  assert.equal(await mona.locator('.drop-hint').count(), 0, 'the drop hint is gone after the drop');

  // A caption typed first goes with the pasted file.
  await mona.getByTestId('composer').fill('the notes');
  await deliverFile(mona, 'paste', { name: 'notes.txt', type: 'text/plain', base64: Buffer.from('pasted notes\n').toString('base64') });
  const card = nick.getByTestId('message').filter({ hasText: 'the notes' }).getByTestId('file-card');
  await card.filter({ hasText: 'notes.txt' }).waitFor();
  assert.equal(await mona.getByTestId('composer').inputValue(), '');
  assert.deepEqual(mona.errors, []);
  assert.deepEqual(nick.errors, []);
});
