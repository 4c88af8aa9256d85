// The official JavaScript client (socket.io-client from npm) against the real letschat binary:
// send with an ack, receive, ack for delivery, read receipt. Proves the server speaks Socket.IO
// the way other clients expect, beyond our own Rust test client.
//
// LETSCHAT_BIN names the binary (default: ../../target/debug/letschat, or $CARGO_TARGET_DIR's).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { io } from 'socket.io-client';

const WAIT_MS = 5000;
const PASSWORD = 'correct horse battery staple';

function binary() {
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

async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'letschat-js-'));
  const port = await freePort();
  const child = spawn(binary(), ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    env: {
      ...process.env,
      LETSCHAT_LOG: 'warn',
      LETSCHAT_RATE_LIMIT__REQUESTS_PER_MINUTE: '0',
      LETSCHAT_RATE_LIMIT__AUTH_REQUESTS_PER_MINUTE: '0',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/health`);
      if (res.ok) return { base, child, dataDir };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

async function api(base, path, token, body) {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function register(base, name) {
  const res = await api(base, '/api/auth/register', null, {
    username: name,
    email: `${name}@example.com`,
    password: PASSWORD,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id, token: res.body.accessToken };
}

function connect(base, token) {
  const socket = io(base, { auth: { token }, transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function next(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once(event, (data, ack) => {
      clearTimeout(timer);
      resolve({ data, ack });
    });
  });
}

test('the official socket.io-client sends, receives, acks delivery and sees the read receipt', async () => {
  const server = await startServer();
  const sockets = [];
  try {
    const alice = await register(server.base, 'alice');
    const bob = await register(server.base, 'bob');
    const chat = await api(server.base, '/api/chats', alice.token, { type: 'one_on_one', memberIds: [bob.id] });
    assert.equal(chat.status, 201, JSON.stringify(chat.body));

    const aliceSocket = await connect(server.base, alice.token);
    const bobSocket = await connect(server.base, bob.token);
    sockets.push(aliceSocket, bobSocket);

    const incoming = next(bobSocket, 'new_message');
    const ack = await aliceSocket.timeout(WAIT_MS).emitWithAck('send_message', {
      chatId: chat.body.id,
      content: 'hello from socket.io-client',
      clientId: 'js-1',
    });
    assert.equal(ack.message.content, 'hello from socket.io-client');

    const delivered = next(aliceSocket, 'message_delivered');
    const received = await incoming;
    assert.equal(received.data.id, ack.message.id);
    assert.equal(typeof received.ack, 'function', 'new_message asks for an ack');
    received.ack({ ok: true });
    const deliveredEvent = await delivered;
    assert.equal(deliveredEvent.data.userId, bob.id);
    assert.equal(deliveredEvent.data.messageId, ack.message.id);

    const read = next(aliceSocket, 'message_read');
    const readAck = await bobSocket.timeout(WAIT_MS).emitWithAck('mark_read', { messageId: ack.message.id });
    assert.deepEqual(readAck, { ok: true });
    const readEvent = await read;
    assert.equal(readEvent.data.userId, bob.id);

    const refused = io(server.base, { auth: { token: 'forged' }, transports: ['polling'], reconnection: false });
    sockets.push(refused);
    const error = await new Promise((resolve) => refused.once('connect_error', resolve));
    assert.match(error.message, /token/i);
  } finally {
    for (const socket of sockets) socket.close();
    server.child.kill('SIGKILL');
    rmSync(server.dataDir, { recursive: true, force: true });
  }
});
