// The Socket.IO connection: the table of server events and what each changes, acknowledged
// emits, catching up after a reconnect, typing indicators, and notifications while the tab is
// hidden. Views do not import this module; they go through store.js.

import { io } from '/vendor/socket.io-client/socket.io.esm.min.js';
import * as api from './api.js';
import { state, changed, toast } from './state.js';
import { upsertMessage, patchMessage, applyMark, applyDeleted, loadPins } from './messages.js';
import { loadChats, loadContacts, refreshChat, removeChat, upsertChat, markChatRead, signedOut } from './store.js';

let syncCursor = null;
let socket = null;
let everConnected = false;

export function emit(event, payload) {
  return new Promise((resolve, reject) => {
    if (!socket) return reject(new Error('Not connected'));
    socket.timeout(15000).emit(event, payload, (err, ack) => {
      if (err) return reject(new Error('The server did not answer in time'));
      if (ack && ack.code) return reject(Object.assign(new Error(ack.error), { code: ack.code }));
      resolve(ack);
    });
  });
}

/** Drops the connection for good (signing out); a later `connect` starts afresh. */
export function disconnect() {
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
  everConnected = false;
}

export function joinChat(chatId) {
  if (socket) socket.emit('join_chat', { chatId }, () => {});
}

export function leaveChat(chatId) {
  if (socket) socket.emit('leave_chat', { chatId }, () => {});
}

// ---- typing ----

let typingChat = null;
let typingSentAt = 0;
let typingStopTimer = null;

/** Called on each keystroke in the composer. */
export function typing(chatId) {
  if (!socket) return;
  const now = Date.now();
  if (typingChat !== chatId || now - typingSentAt > 3000) {
    socket.emit('typing_start', { chatId }, () => {});
    typingChat = chatId;
    typingSentAt = now;
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = setTimeout(() => stopTyping(), 4000);
}

export function stopTyping() {
  clearTimeout(typingStopTimer);
  if (typingChat && socket) socket.emit('typing_stop', { chatId: typingChat }, () => {});
  typingChat = null;
  typingSentAt = 0;
}

export function typingNames(chatId) {
  const map = state.typing.get(chatId);
  if (!map) return [];
  const now = Date.now();
  return [...map.entries()].filter(([, v]) => v.until > now).map(([, v]) => v.username);
}

// ---- the socket ----

/** Opens the connection; `syncFrom` is where catching up after a reconnect starts. */
export function connect(syncFrom) {
  syncCursor = syncFrom;
  state.connection = 'connecting';
  socket = io({
    auth: (cb) =>
      api
        .freshToken()
        .then((token) => cb({ token }))
        .catch(() => cb({})),
    transports: ['websocket', 'polling'],
    reconnectionDelayMax: 5000,
  });
  socket.on('connect', onConnect);
  socket.on('disconnect', () => {
    state.connection = 'offline';
    state.typing.clear();
    changed();
  });
  socket.on('connect_error', () => {
    state.connection = 'offline';
    changed();
  });
  const on = (name, fn) => socket.on(name, (...args) => {
    try {
      fn(...args);
    } catch (e) {
      console.error(name, e);
    }
  });
  on('new_message', onNewMessage);
  on('message_updated', (p) => patchMessage(p.chatId, p.id, { content: p.content, editedAt: p.editedAt, updatedAt: p.updatedAt }));
  on('message_deleted', applyDeleted);
  on('message_delivered', (p) => applyMark('delivered', p));
  on('message_read', (p) => {
    if (p.userId === state.me.id) {
      const chat = state.chats.get(p.chatId);
      if (chat && chat.lastMessage && chat.lastMessage.id === p.messageId) chat.unreadCount = 0;
      else refreshChat(p.chatId);
      changed();
    } else applyMark('read', p);
  });
  on('message_reaction', (p) => patchMessage(p.chatId, p.messageId, { reactions: p.reactions }));
  on('message_pinned', (p) => state.pins.has(p.chatId) && loadPins(p.chatId));
  on('message_unpinned', (p) => state.pins.has(p.chatId) && loadPins(p.chatId));
  on('user_typing', (p) => {
    if (p.userId === state.me.id) return;
    if (!state.typing.has(p.chatId)) state.typing.set(p.chatId, new Map());
    state.typing.get(p.chatId).set(p.userId, { username: p.username, until: Date.now() + 8000 });
    changed();
    setTimeout(changed, 8100);
  });
  on('user_stopped_typing', (p) => {
    const map = state.typing.get(p.chatId);
    if (map) map.delete(p.userId);
    changed();
  });
  on('presence_initial', ({ users }) => {
    for (const u of users) state.presence.set(u.userId, { status: u.status, lastSeen: u.lastSeen });
    changed();
  });
  on('user_online', (p) => {
    state.presence.set(p.userId, { status: p.status || 'online', lastSeen: null });
    changed();
  });
  on('user_offline', (p) => {
    state.presence.set(p.userId, { status: 'offline', lastSeen: p.lastSeen });
    changed();
  });
  on('chat_created', upsertChat);
  on('chat_updated', upsertChat);
  on('chat_deleted', ({ chatId }) => removeChat(chatId));
  on('member_added', ({ chatId }) => refreshChat(chatId));
  on('member_removed', ({ chatId, userId }) => userId !== state.me.id && refreshChat(chatId));
  for (const name of ['contact_request_received', 'contact_request_accepted', 'contact_request_rejected', 'contact_blocked', 'contact_removed']) {
    on(name, () => {
      loadContacts().catch(() => {});
      if (name === 'contact_request_received') toast('New contact request');
    });
  }
  on('session_revoked', () => {
    toast('This session was signed out.');
    api.clearTokens();
    signedOut();
  });
  changed();
}

async function onConnect() {
  state.connection = 'online';
  changed();
  if (state.activeChatId) socket.emit('join_chat', { chatId: state.activeChatId }, () => {});
  if (everConnected) await fillGap();
  everConnected = true;
}

/** After a reconnect: what changed while we were away, from `/api/sync`. */
async function fillGap() {
  try {
    for (let i = 0; i < 10; i++) {
      const page = await api.get(`/api/sync?since=${encodeURIComponent(syncCursor)}`);
      syncCursor = page.nextCursor;
      for (const chat of page.chats) upsertChat(chat);
      for (const m of page.messages) {
        if (!state.chats.has(m.chatId)) await refreshChat(m.chatId);
        // Only chats with history in memory keep messages; the others load theirs when opened.
        if (state.messages.has(m.chatId)) upsertMessage(m, { quiet: true });
      }
      if (!page.hasMore) break;
    }
    await loadChats();
    if (state.activeChatId) markChatRead(state.activeChatId);
    changed();
  } catch (e) {
    toast(`Could not catch up: ${e.message}`);
  }
}

function onNewMessage(m, ack) {
  if (typeof ack === 'function') ack({ ok: true });
  if (!state.chats.has(m.chatId)) {
    refreshChat(m.chatId);
  }
  const known = state.messages.has(m.chatId);
  if (known) upsertMessage(m);
  const chat = state.chats.get(m.chatId);
  if (chat) {
    chat.lastMessage = m;
    if (m.senderId !== state.me.id) {
      const viewing = state.activeChatId === m.chatId && !document.hidden;
      if (viewing) {
        emit('mark_read', { messageId: m.id }).catch(() => {});
      } else {
        chat.unreadCount = (chat.unreadCount || 0) + 1;
        if (document.hidden && !chat.settings.muted) notifyHidden(chat, m);
      }
      const map = state.typing.get(m.chatId);
      if (map) map.delete(m.senderId);
    }
  }
  changed();
}

// ---- hidden-tab notifications and title ----

export function notificationsWanted() {
  return localStorage.getItem('letschat.notifications') !== 'off' && state.me && state.me.settings.notifications !== false;
}

function notifyHidden(chat, m) {
  state.hiddenUnread += 1;
  updateTitle();
  if (notificationsWanted() && 'Notification' in window && Notification.permission === 'granted') {
    const who = m.sender ? m.sender.displayName || m.sender.username : 'Someone';
    const title = chat.type === 'group' ? `${who} in ${chat.name}` : who;
    const n = new Notification(title, { body: m.deletedAt ? '' : m.content || 'Attachment', tag: chat.id });
    n.onclick = () => {
      window.focus();
      location.hash = `#/chat/${chat.id}`;
    };
  }
}

export function updateTitle() {
  document.title = state.hiddenUnread > 0 ? `(${state.hiddenUnread}) letschat` : 'letschat';
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    state.hiddenUnread = 0;
    updateTitle();
    if (state.activeChatId) markChatRead(state.activeChatId);
  }
  if (socket && socket.connected) socket.emit('presence_set', { status: document.hidden ? 'away' : 'online' }, () => {});
});

/** For tests and debugging: drop the connection as a network loss would. */
export function debugSocket() {
  return socket;
}
