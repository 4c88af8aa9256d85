// The messages of each chat kept in memory, and what this user does to messages: load history,
// send (shown at once as pending, then replaced by the server's copy), edit, delete, react,
// star, pin and forward; and the status a sender sees, raised by delivered/read events. The
// server's events about messages arrive through live.js, which calls the exported appliers.

import * as api from './api.js';
import { state, changed, toast } from './state.js';
import { emit } from './live.js';

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
export function upsertMessage(m, { quiet = false } = {}) {
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

export function patchMessage(chatId, id, patch) {
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

export function applyMark(kind, { chatId, messageId, userId }) {
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

export function applyDeleted({ messageId, chatId, scope }) {
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
