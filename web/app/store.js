// The client state, the Socket.IO connection, and how every server event changes the state.
// Components read `state` and re-render when `subscribe` calls them back.

import { io } from '/vendor/socket.io-client/socket.io.esm.min.js';
import * as api from './api.js';
import { userName } from './util.js';

export const state = {
  me: null,
  booting: true,
  chats: new Map(), // id → Chat
  messages: new Map(), // chatId → { list: Message[] oldest first, hasMore, cursor, loading, error }
  presence: new Map(), // userId → { status, lastSeen }
  typing: new Map(), // chatId → Map(userId → { username, until })
  marks: new Map(), // chatId → Map(userId → { delivered, read }) times seen in events
  pins: new Map(), // chatId → Message[]
  contacts: [],
  pending: [],
  sent: [],
  blocks: [],
  connection: 'offline', // 'connecting' | 'online' | 'offline'
  activeChatId: null,
  hiddenUnread: 0,
  toast: null,
};

let syncCursor = null;
let socket = null;
let everConnected = false;
const subscribers = new Set();
let scheduled = false;

export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/** Re-renders once per frame, however many changes happened. */
export function changed() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    for (const fn of subscribers) fn();
  });
}

export function toast(text) {
  state.toast = { text, at: Date.now() };
  changed();
  setTimeout(() => {
    if (state.toast && Date.now() - state.toast.at >= 3900) {
      state.toast = null;
      changed();
    }
  }, 4000);
}

// ---- session ----

export async function boot() {
  api.onSessionEnd(() => signedOut());
  if (api.hasRefreshToken()) {
    try {
      await api.refresh();
      const { user } = await api.get('/api/auth/me');
      await start(user);
    } catch (e) {
      if (e.status !== 401) toast(e.message);
    }
  }
  state.booting = false;
  changed();
}

export async function start(user) {
  state.me = user;
  const { nextCursor } = await api.get('/api/sync');
  syncCursor = nextCursor;
  await loadChats();
  loadContacts().catch(() => {});
  connect();
  changed();
}

function signedOut() {
  if (socket) {
    socket.removeAllListeners();
    socket.disconnect();
    socket = null;
  }
  everConnected = false;
  Object.assign(state, {
    me: null,
    activeChatId: null,
    connection: 'offline',
    contacts: [],
    pending: [],
    sent: [],
    blocks: [],
  });
  for (const key of ['chats', 'messages', 'presence', 'typing', 'marks', 'pins']) state[key].clear();
  changed();
}

export async function logout() {
  await api.logout().catch(() => {});
}

// ---- chats and contacts ----

export async function loadChats() {
  const chats = await api.get('/api/chats');
  state.chats.clear();
  for (const chat of chats) state.chats.set(chat.id, chat);
  changed();
}

export async function loadContacts() {
  const [c, p, s, b] = await Promise.all([
    api.get('/api/contacts'),
    api.get('/api/contacts/pending'),
    api.get('/api/contacts/sent'),
    api.get('/api/blocks'),
  ]);
  state.contacts = c.contacts;
  state.pending = p.requests;
  state.sent = s.requests;
  state.blocks = b.blocks;
  changed();
}

export async function refreshChat(chatId) {
  try {
    const chat = await api.get(`/api/chats/${chatId}`);
    state.chats.set(chat.id, chat);
    changed();
    return chat;
  } catch (e) {
    if (e.status === 404) removeChat(chatId);
    return null;
  }
}

function removeChat(chatId) {
  state.chats.delete(chatId);
  state.messages.delete(chatId);
  if (state.activeChatId === chatId) {
    state.activeChatId = null;
    if (location.hash.startsWith('#/chat/')) location.hash = '#/';
  }
  changed();
}

export function otherMember(chat) {
  return chat.members.find((m) => m.userId !== state.me.id);
}

/** A chat's name as this user sees it: the group's name, or the other person's. */
export function chatTitle(chat) {
  if (chat.type === 'group') return chat.name;
  const other = otherMember(chat);
  return other ? userName(other.user) : chat.name || 'Chat';
}

export function sortedChats({ archived = false, query = '' } = {}) {
  const q = query.trim().toLowerCase();
  return [...state.chats.values()]
    .filter((c) => !!c.settings.archived === archived)
    .filter((c) => !q || (c.name || '').toLowerCase().includes(q) || memberNames(c).includes(q))
    .sort((a, b) => {
      if (a.settings.pinned !== b.settings.pinned) return a.settings.pinned ? -1 : 1;
      return activity(b).localeCompare(activity(a));
    });
}

function memberNames(chat) {
  return chat.members.map((m) => `${m.user.displayName || ''} ${m.user.username}`.toLowerCase()).join(' ');
}

function activity(chat) {
  return (chat.lastMessage && chat.lastMessage.createdAt) || chat.updatedAt || chat.createdAt;
}

export async function openChat(chatId) {
  state.activeChatId = chatId;
  changed();
  if (!state.chats.has(chatId)) await refreshChat(chatId);
  if (!state.messages.has(chatId)) await loadHistory(chatId);
  if (socket) socket.emit('join_chat', { chatId }, () => {});
  markChatRead(chatId);
}

export function closeChat() {
  if (state.activeChatId && socket) socket.emit('leave_chat', { chatId: state.activeChatId }, () => {});
  state.activeChatId = null;
  changed();
}

// ---- messages ----

function bucket(chatId) {
  let b = state.messages.get(chatId);
  if (!b) {
    b = { list: [], hasMore: true, cursor: null, loading: false, error: null };
    state.messages.set(chatId, b);
  }
  return b;
}

/** Loads the next older page (the newest one first time). */
export async function loadHistory(chatId) {
  const b = bucket(chatId);
  if (b.loading || (!b.hasMore && b.list.length)) return;
  b.loading = true;
  b.error = null;
  changed();
  try {
    const q = new URLSearchParams({ limit: '40' });
    if (b.cursor) q.set('cursor', b.cursor);
    const page = await api.get(`/api/chats/${chatId}/messages?${q}`);
    for (const m of page.messages) upsertMessage(m, { quiet: true });
    b.cursor = page.nextCursor;
    b.hasMore = page.hasMore;
  } catch (e) {
    b.error = e.message;
  } finally {
    b.loading = false;
    changed();
  }
}

/** Loads older pages until `messageId` is in memory (bounded), for jump-to-message. */
export async function ensureLoaded(chatId, messageId) {
  for (let i = 0; i < 20; i++) {
    const b = bucket(chatId);
    if (b.list.some((m) => m.id === messageId)) return true;
    if (!b.hasMore && b.list.length) return false;
    await loadHistory(chatId);
  }
  return false;
}

function order(a, b) {
  return a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt);
}

/** Inserts or replaces a message (by id, or by clientId for our own pending copy). */
function upsertMessage(m, { quiet = false } = {}) {
  const b = bucket(m.chatId);
  let i = b.list.findIndex((x) => x.id === m.id || (m.clientId && x.clientId === m.clientId && x.pending));
  if (i >= 0) b.list[i] = { ...b.list[i], ...m, pending: false, failed: false };
  else {
    b.list.push(m);
    b.list.sort(order);
  }
  const chat = state.chats.get(m.chatId);
  if (chat && (!chat.lastMessage || order(chat.lastMessage, m) <= 0 || chat.lastMessage.id === m.id)) {
    chat.lastMessage = m;
  }
  if (!quiet) changed();
}

function patchMessage(chatId, id, patch) {
  const b = state.messages.get(chatId);
  const m = b && b.list.find((x) => x.id === id);
  if (m) Object.assign(m, patch);
  const chat = state.chats.get(chatId);
  if (chat && chat.lastMessage && chat.lastMessage.id === id) chat.lastMessage = { ...chat.lastMessage, ...patch };
  changed();
}

export function findMessage(chatId, id) {
  const b = state.messages.get(chatId);
  return b && b.list.find((x) => x.id === id);
}

function emit(event, payload) {
  return new Promise((resolve, reject) => {
    if (!socket) return reject(new Error('Not connected'));
    socket.timeout(15000).emit(event, payload, (err, ack) => {
      if (err) return reject(new Error('The server did not answer in time'));
      if (ack && ack.code) return reject(Object.assign(new Error(ack.error), { code: ack.code }));
      resolve(ack);
    });
  });
}

/** Sends a text (or file) message: shown at once as pending, replaced by the server's copy. */
export async function sendMessage(chatId, { content, replyTo, file, type, clientId = crypto.randomUUID() }) {
  const now = new Date().toISOString();
  const temp = {
    id: `pending-${clientId}`,
    clientId,
    chatId,
    senderId: state.me.id,
    content: content || '',
    type: type || 'text',
    file: file || null,
    replyToId: replyTo ? replyTo.id : null,
    replyTo: replyTo ? { id: replyTo.id, senderId: replyTo.senderId, content: replyTo.content, type: replyTo.type, sender: replyTo.sender } : null,
    reactions: [],
    status: 'sent',
    createdAt: now,
    updatedAt: now,
    sender: state.me,
    pending: true,
  };
  upsertMessage(temp);
  const payload = { chatId, content: content || undefined, clientId, type: type || 'text' };
  if (replyTo) payload.replyToId = replyTo.id;
  if (file) payload.fileId = file.id;
  try {
    const { message } = await emit('send_message', payload);
    const b = bucket(chatId);
    b.list = b.list.filter((x) => x.id !== temp.id);
    upsertMessage(message);
  } catch (e) {
    temp.failed = true;
    temp.pending = true;
    changed();
    toast(`Not sent: ${e.message}`);
  }
}

export async function retrySend(chatId, temp) {
  const b = bucket(chatId);
  b.list = b.list.filter((x) => x !== temp);
  changed();
  // The same clientId: if the first attempt reached the server after all, no duplicate is made.
  await sendMessage(chatId, { content: temp.content, replyTo: temp.replyTo, file: temp.file, type: temp.type, clientId: temp.clientId });
}

export async function editMessage(m, content) {
  const { message } = await emit('edit_message', { messageId: m.id, content });
  upsertMessage(message);
}

export async function deleteMessage(m, scope) {
  await emit('delete_message', { messageId: m.id, scope });
  applyDeleted({ messageId: m.id, chatId: m.chatId, scope });
}

export async function react(m, emoji) {
  const mine = (m.reactions || []).find((r) => r.emoji === emoji && r.userIds.includes(state.me.id));
  const { reactions } = await emit('react', { messageId: m.id, emoji: mine ? null : emoji });
  patchMessage(m.chatId, m.id, { reactions });
}

export async function star(m) {
  if (m.starred) await api.del(`/api/messages/${m.id}/star`);
  else await api.post(`/api/messages/${m.id}/star`);
  patchMessage(m.chatId, m.id, { starred: !m.starred });
}

export async function loadPins(chatId) {
  const { messages } = await api.get(`/api/chats/${chatId}/pins`);
  state.pins.set(chatId, messages);
  changed();
}

export async function togglePin(m) {
  const pinned = (state.pins.get(m.chatId) || []).some((p) => p.id === m.id);
  if (pinned) await api.del(`/api/chats/${m.chatId}/pins/${m.id}`);
  else await api.post(`/api/chats/${m.chatId}/pins`, { messageId: m.id });
  await loadPins(m.chatId);
}

export async function forward(m, chatIds) {
  const { messages } = await api.post(`/api/messages/${m.id}/forward`, { chatIds });
  for (const x of messages) {
    if (state.messages.has(x.chatId)) upsertMessage(x);
    const chat = state.chats.get(x.chatId);
    if (chat) chat.lastMessage = x;
  }
  changed();
}

export function markChatRead(chatId) {
  const chat = state.chats.get(chatId);
  if (!chat || document.hidden) return;
  const b = state.messages.get(chatId);
  const newest = b && [...b.list].reverse().find((m) => !m.pending);
  if (chat.unreadCount > 0 || (newest && newest.senderId !== state.me.id && !newest.isRead)) {
    chat.unreadCount = 0;
    if (newest) newest.isRead = true;
    changed();
    api.post(`/api/chats/${chatId}/read`, newest ? { messageId: newest.id } : {}).catch(() => {});
  }
}

export async function setChatSettings(chatId, settings) {
  const chat = await api.put(`/api/chats/${chatId}/settings`, settings);
  state.chats.set(chat.id, chat);
  changed();
}

/** The status a sender sees, raised by the delivered/read events received since loading. */
export function messageStatus(m) {
  if (m.pending) return m.failed ? 'failed' : 'pending';
  const chat = state.chats.get(m.chatId);
  const marks = state.marks.get(m.chatId);
  if (!chat || !marks) return m.status;
  const others = chat.members.filter((x) => x.userId !== state.me.id);
  const covers = (kind) =>
    others.length > 0 && others.every((o) => (marks.get(o.userId) || {})[kind] >= m.createdAt);
  if (m.status === 'read' || covers('read')) return 'read';
  if (m.status === 'delivered' || covers('delivered')) return 'delivered';
  return m.status;
}

function applyMark(kind, { chatId, messageId, userId }) {
  const m = findMessage(chatId, messageId);
  const chat = state.chats.get(chatId);
  const at = m ? m.createdAt : chat && chat.lastMessage && chat.lastMessage.id === messageId ? chat.lastMessage.createdAt : null;
  if (!at) return;
  if (!state.marks.has(chatId)) state.marks.set(chatId, new Map());
  const mark = state.marks.get(chatId).get(userId) || {};
  if (!mark[kind] || mark[kind] < at) mark[kind] = at;
  if (kind === 'read' && (!mark.delivered || mark.delivered < at)) mark.delivered = at;
  state.marks.get(chatId).set(userId, mark);
  if (chat && chat.lastMessage && chat.lastMessage.senderId === state.me.id) {
    chat.lastMessage = { ...chat.lastMessage, status: messageStatus(chat.lastMessage) };
  }
  changed();
}

function applyDeleted({ messageId, chatId, scope }) {
  if (scope === 'everyone') {
    patchMessage(chatId, messageId, { deletedAt: new Date().toISOString(), content: '', file: null, reactions: [] });
  } else {
    const b = state.messages.get(chatId);
    if (b) b.list = b.list.filter((x) => x.id !== messageId);
    const chat = state.chats.get(chatId);
    if (chat && chat.lastMessage && chat.lastMessage.id === messageId) {
      chat.lastMessage = b && b.list.length ? b.list[b.list.length - 1] : null;
    }
    changed();
  }
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

function connect() {
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

export function upsertChat(chat) {
  const old = state.chats.get(chat.id);
  if (old && !chat.lastMessage) chat.lastMessage = old.lastMessage;
  state.chats.set(chat.id, chat);
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
