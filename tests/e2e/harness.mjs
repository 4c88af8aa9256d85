// Shared by the end-to-end tests and the screenshot script: start the real binary on a free port
// with its own data directory, launch Debian's Chromium through playwright-core, and act as users.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

export const PASSWORD = 'correct horse battery staple';
export const WAIT_MS = 10000;

export function binary() {
  if (process.env.LETSCHAT_BIN) return process.env.LETSCHAT_BIN;
  const target = process.env.CARGO_TARGET_DIR || new URL('../../target', import.meta.url).pathname;
  return join(target, 'debug', 'letschat');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A running server; `restart()` stops it and starts it again on the same port and data. */
export async function startServer({ env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'letschat-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = { base, dataDir, child: null };
  server.start = async () => {
    server.child = spawn(binary(), ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
      env: {
        ...process.env,
        LETSCHAT_LOG: 'warn',
        LETSCHAT_RATE_LIMIT__REQUESTS_PER_MINUTE: '0',
        LETSCHAT_RATE_LIMIT__AUTH_REQUESTS_PER_MINUTE: '0',
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${base}/health`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('server did not start');
  };
  server.stop = async () => {
    const child = server.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  server.restart = async () => {
    await server.stop();
    await server.start();
  };
  server.cleanup = async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  await server.start();
  return server;
}

/** Debian's Chromium; playwright gives each launch a fresh, empty profile directory itself. */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}

/** A browser context for one person, recording page errors so tests can assert there are none. */
export async function newUserPage(browser, base, options = {}) {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 }, ...options });
  return watchErrors(await context.newPage());
}

/** Registers through the UI and waits for the chat list. */
export async function registerViaUi(page, username, displayName = '') {
  await page.goto('/#/register');
  await page.getByLabel('Username', { exact: true }).fill(username);
  if (displayName) await page.getByLabel('Display name (optional)').fill(displayName);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Password (8 characters or more)').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('list', { name: 'Chat list' }).waitFor();
}

/** REST as a user, for setting up state a test is not about. */
export async function apiAs(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

export async function registerViaApi(base, username, displayName) {
  return apiAs(base, null, 'POST', '/api/auth/register', {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
    ...(displayName ? { displayName } : {}),
  });
}

/** Signs a page in with the login form. */
export async function loginViaUi(page, login) {
  await page.goto('/#/login');
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('list', { name: 'Chat list' }).waitFor();
}

// ---- helpers shared by the feature suites ----

export const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

export const chatRow = (page, name) => page.getByTestId('chat-row').filter({ hasText: name });
export const message = (page, text) => page.getByTestId('message').filter({ hasText: text });

/** Types and sends a message, and waits until the server accepted it. */
export async function send(page, text) {
  const box = page.getByTestId('composer');
  await box.fill(text);
  await box.press('Enter');
  await message(page, text).getByTestId('ticks').and(page.locator('[data-status="sent"], [data-status="delivered"], [data-status="read"]')).waitFor();
}

export async function openMessageMenu(page, text) {
  const m = message(page, text).last();
  await m.hover();
  await m.getByRole('button', { name: 'Message options' }).click();
  return m;
}

/** Registers people through the API; answers `{ name: { user, accessToken, as(method, path, body) } }`. */
export async function people(base, names) {
  const out = {};
  for (const name of names) {
    const auth = await registerViaApi(base, name.toLowerCase(), name);
    out[name] = { ...auth, as: (method, path, body) => apiAs(base, auth.accessToken, method, path, body) };
  }
  return out;
}

/** Makes two people (from `people`) accepted contacts. */
export async function befriend(a, b) {
  const { contact } = await a.as('POST', '/api/contacts', { contactId: b.user.id });
  await b.as('PUT', `/api/contacts/${contact.id}`, { status: 'accepted' });
}

/** Screenshots of the given pages when the test failed, for the CI log reader. */
export async function shotsOnFailure(t, pages) {
  if (t.passed || t.skipped) return;
  const { mkdirSync } = await import('node:fs');
  const dir = process.env.E2E_FAILURES || '/tmp/letschat-e2e-failures';
  mkdirSync(dir, { recursive: true });
  for (const [name, page] of Object.entries(pages)) {
    if (page && !page.isClosed()) await page.screenshot({ path: `${dir}/${t.name.slice(0, 40).replace(/\W+/g, '-')}-${name}.png` }).catch(() => {});
  }
}

/** Pretends the tab went to the background (or came back): `document.hidden` and the event. */
export async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** Records every `new Notification(…)` of the page in `window.__notes` (the real permission is kept). */
export async function spyOnNotifications(page) {
  await page.addInitScript(() => {
    const Real = window.Notification;
    window.__notes = [];
    window.Notification = class {
      constructor(title, options = {}) {
        this.title = title;
        this.body = options.body;
        this.tag = options.tag;
        this.onclick = null;
        window.__notes.push(this);
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission(cb) {
        return Real.requestPermission(cb);
      }
    };
  });
}

/** Attaches page-error recording to another page of an existing context (a second tab). */
export function watchErrors(page) {
  page.setDefaultTimeout(WAIT_MS);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|WebSocket connection|ERR_CONNECTION_REFUSED|socket\.io/i.test(msg.text())) {
      page.errors.push(msg.text());
    }
  });
  return page;
}

/** The pixel width of an image once it has loaded; throws if it fails to load.
 *  `decode()` waits for the fetch, so a test does not race an image still on its way. */
export async function loadedWidth(image) {
  return image.evaluate(async (img, ms) => {
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`image not loaded after ${ms} ms`)), ms));
    await Promise.race([img.decode(), late]);
    return img.naturalWidth;
  }, WAIT_MS);
}
