// The one module views import: the session, the chat list and contacts live here; the rest is
// re-exported by name from where it lives (state.js: the state and re-rendering; messages.js:
// messages in memory and actions on them; live.js: the Socket.IO connection and its events).
// Components read `state` and re-render when `subscribe` calls them back.

import * as api from './api.js';
import { userName } from './util.js';
import { state, changed, toast } from './state.js';
import { loadHistory } from './messages.js';
import { connect, disconnect, joinChat, leaveChat } from './live.js';

export { state, subscribe, changed, toast } from './state.js';
export {
  loadHistory,
  ensureLoaded,
  findMessage,
  sendMessage,
  retrySend,
  editMessage,
  deleteMessage,
  react,
  star,
  loadPins,
  togglePin,
  forward,
  messageStatus,
} from './messages.js';
export { typing, stopTyping, typingNames, notificationsWanted, updateTitle, debugSocket } from './live.js';

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
  await loadChats();
  loadContacts().catch(() => {});
  connect(nextCursor);
  changed();
}

/** Forgets everything of the user who was signed in. */
export function signedOut() {
  disconnect();
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

export function removeChat(chatId) {
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
  joinChat(chatId);
  markChatRead(chatId);
}

export function closeChat() {
  if (state.activeChatId) leaveChat(state.activeChatId);
  state.activeChatId = null;
  changed();
}

export function upsertChat(chat) {
  const old = state.chats.get(chat.id);
  if (old && !chat.lastMessage) chat.lastMessage = old.lastMessage;
  state.chats.set(chat.id, chat);
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
