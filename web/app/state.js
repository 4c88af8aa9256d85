// The client state and when views re-render: every module changes `state` in place and then
// calls `changed`; components `subscribe` and re-render at most once per burst of changes.

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
