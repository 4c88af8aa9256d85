// The entry point: routing by URL fragment, the two-pane layout, the chat list.

import { html, render, useState, useEffect, useLayoutEffect, useReducer } from '/vendor/htm/standalone.module.js';
import { state, subscribe, boot, openChat, closeChat, sortedChats, otherMember, setChatSettings, chatTitle, typingNames, notificationsWanted } from './store.js';
import { Login, Register, Forgot, Reset } from './auth.js';
import { ChatView } from './chat.js';
import { NewChat, NewGroup, Contacts, Settings, SearchMessages, Starred } from './panels.js';
import { Avatar, shortWhen, preview, userName, lastSeenText, useMenu } from './util.js';
import { applyTheme } from './theme.js';
import { Icon, TickIcon } from './icons.js';

function useStore() {
  const [, force] = useReducer((n) => n + 1, 0);
  useEffect(() => {
    const off = subscribe(force);
    force(); // anything that changed before this effect ran
    return off;
  }, []);
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App() {
  useStore();
  const hash = useHash();
  if (state.booting) return html`<div class="splash" role="status" aria-live="polite"><span class="spinner"></span> Loading…</div>`;
  const [path, query] = hash.replace(/^#/, '').split('?');
  if (!state.me) {
    if (path === '/register') return html`<${Register} />`;
    if (path === '/forgot') return html`<${Forgot} />`;
    if (path === '/reset-password') return html`<${Reset} token=${new URLSearchParams(query || '').get('token')} />`;
    return html`<${Login} />`;
  }
  return html`<${Main} path=${path} /><${Toast} />`;
}

function Toast() {
  return html`<div class="toast-region" role="status" aria-live="polite">${state.toast && html`<div class="toast">${state.toast.text}</div>`}</div>`;
}

function Main({ path }) {
  const [panel, setPanel] = useState(null);
  const match = /^\/chat\/([0-9a-f-]+)/.exec(path || '');
  const chatId = match ? match[1] : null;
  const jump = new URLSearchParams((location.hash.split('?')[1]) || '').get('m');
  // In the same commit as the layout, not after the next frame (a background tab may not paint
  // for a while): a message arriving once the chat has left the screen must count as unread,
  // not be marked read by a chat that is only still open in the state.
  useLayoutEffect(() => {
    if (chatId && chatId !== state.activeChatId) openChat(chatId);
    if (!chatId && state.activeChatId) closeChat();
  }, [chatId]);
  useEffect(() => {
    const onKey = (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented && !document.querySelector('dialog[open], .modal, .menu')) {
        if (panel) setPanel(null);
        else if (chatId) location.hash = '#/';
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [panel, chatId]);
  const close = () => setPanel(null);
  const panels = {
    new: html`<${NewChat} onClose=${close} />`,
    group: html`<${NewGroup} onClose=${close} />`,
    contacts: html`<${Contacts} onClose=${close} />`,
    settings: html`<${Settings} onClose=${close} />`,
    search: html`<${SearchMessages} onClose=${close} />`,
    starred: html`<${Starred} onClose=${close} />`,
  };
  return html`<div class=${`layout ${chatId ? 'has-chat' : 'no-chat'}`}>
    ${state.connection === 'offline' &&
    html`<div class="offline-banner" role="alert" data-testid="offline-banner">Connecting… you are offline. Messages will be sent when the connection is back.</div>`}
    <aside class="sidebar" aria-label="Chats">
      ${panel ? panels[panel] : html`<${ChatList} openPanel=${setPanel} />`}
    </aside>
    <main class="pane" aria-label="Conversation">
      ${chatId && state.chats.has(chatId)
        ? html`<${ChatView} key=${chatId} chatId=${chatId} jumpTo=${jump} />`
        : chatId
          ? html`<div class="empty-pane" role="status"><span class="spinner"></span> Opening chat…</div>`
          : html`<div class="empty-pane">
              <img src="/app/icons/icon.svg" alt="" width="96" height="96" />
              <h2>letschat for the web</h2>
              <p>Send and receive messages in real time. Pick a chat on the left, or start a new one.</p>
            </div>`}
    </main>
  </div>`;
}

function ChatList({ openPanel }) {
  const [query, setQuery] = useState('');
  const [archived, setArchived] = useState(false);
  const me = state.me;
  const chats = sortedChats({ archived, query });
  const archivedChats = sortedChats({ archived: true });
  const archivedCount = archivedChats.length;
  // Archived chats stay archived when a message arrives (the server keeps the setting); the row
  // counts the archived chats with unread messages instead.
  const archivedUnread = archivedChats.filter((c) => c.unreadCount > 0).length;
  const requests = state.pending.length;
  return html`
    <header class="bar">
      <button class="icon-btn me" aria-label="Profile and settings" onClick=${() => openPanel('settings')}>
        <${Avatar} name=${userName(me)} url=${me.avatarUrl} id=${me.id} size=${36} />
      </button>
      <div class="bar-actions">
        <button class="icon-btn" aria-label=${requests ? `Contacts, ${requests} contact requests` : 'Contacts'} title="Contacts" onClick=${() => openPanel('contacts')}>
          <${Icon} name="contacts" />${requests > 0 && html`<span class="dot-badge" aria-hidden="true">${requests}</span>`}
        </button>
        <button class="icon-btn" aria-label="New group" title="New group" onClick=${() => openPanel('group')}><${Icon} name="group" /></button>
        <button class="icon-btn" aria-label="New chat" title="New chat" onClick=${() => openPanel('new')}><${Icon} name="chat" /></button>
        <button class="icon-btn" aria-label="Search messages" title="Search messages" onClick=${() => openPanel('search')}><${Icon} name="search" /></button>
        <button class="icon-btn" aria-label="Starred messages" title="Starred messages" onClick=${() => openPanel('starred')}><${Icon} name="star" /></button>
      </div>
    </header>
    <${NotifyPrompt} />
    <div class="search-box">
      <input type="search" placeholder="Search or start new chat" aria-label="Search chats" value=${query} onInput=${(e) => setQuery(e.target.value)} />
    </div>
    ${(archived || archivedCount > 0) &&
    html`<button class="archived-row" onClick=${() => setArchived(!archived)} aria-pressed=${archived}>
      ${archived ? '← Back to chats' : html`<${Icon} name="archive" size=${20} /> Archived (${archivedCount})${archivedUnread > 0 && html`<span class="badge" data-testid="archived-unread" aria-label=${`${archivedUnread} with unread messages`}>${archivedUnread}</span>`}`}
    </button>`}
    <ul class="chat-list" role="list" aria-label=${archived ? 'Archived chats' : 'Chat list'}>
      ${chats.map((c) => html`<${ChatRow} key=${c.id} chat=${c} />`)}
      ${chats.length === 0 &&
      html`<li class="empty-list">${query ? 'No chats match.' : archived ? 'No archived chats.' : html`No chats yet. <button class="link" onClick=${() => openPanel('new')}>Start one</button>`}</li>`}
    </ul>`;
}

/** Asks for notification permission only when the person clicks, and can be dismissed for good. */
function NotifyPrompt() {
  const [hidden, setHidden] = useState(localStorage.getItem('letschat.notifyPrompt') === 'dismissed');
  if (hidden || !('Notification' in window) || Notification.permission !== 'default' || !notificationsWanted()) return null;
  const dismiss = () => {
    localStorage.setItem('letschat.notifyPrompt', 'dismissed');
    setHidden(true);
  };
  return html`<div class="notify-prompt" role="region" aria-label="Notifications">
    <span><strong>Get notified of new messages</strong><small>While this tab is in the background.</small></span>
    <button class="small primary" onClick=${() => Notification.requestPermission().finally(dismiss)}>Turn on</button>
    <button class="icon-btn" aria-label="Not now" onClick=${dismiss}><${Icon} name="close" size=${18} /></button>
  </div>`;
}

function ChatRow({ chat }) {
  const active = state.activeChatId === chat.id;
  const m = chat.lastMessage;
  const other = chat.type === 'one_on_one' ? otherMember(chat) : null;
  const online = other && (state.presence.get(other.userId) || {}).status === 'online';
  const title = chatTitle(chat);
  const [menu, setMenu] = useState(false);
  const menuRef = useMenu(menu, setMenu);
  const toggle = (key) => () => {
    setMenu(false);
    setChatSettings(chat.id, { [key]: !chat.settings[key] });
  };
  return html`<li class=${`chat-row ${active ? 'active' : ''}`} data-testid="chat-row" data-chat-id=${chat.id}>
    <a href=${`#/chat/${chat.id}`} aria-current=${active ? 'page' : undefined}
      aria-label=${`${title}${chat.unreadCount ? `, ${chat.unreadCount} unread` : ''}`}>
      <span class="avatar-wrap"><${Avatar} name=${title} url=${chat.avatarUrl} id=${chat.id} size=${48} />${online && html`<span class="online-dot" aria-hidden="true"></span>`}</span>
      <span class="row-main">
        <span class="row-top"><span class="row-title">${title}</span><span class=${`row-time ${chat.unreadCount && !chat.settings.muted ? 'unread' : ''}`}>${m ? shortWhen(m.createdAt) : ''}</span></span>
        <span class="row-bottom">
          <span class="row-preview">${typingNames(chat.id).length ? html`<span class="typing">${chat.type === 'group' ? `${typingNames(chat.id)[0]} is typing…` : 'typing…'}</span>` : html`${m && m.senderId === state.me.id && !m.deletedAt && html`<span class=${`ticks ${m.status}`} aria-label=${m.status}><${TickIcon} status=${m.status} /></span> `}${preview(m, state.me.id).replace(/^You: /, '')}`}</span>
          <span class="row-flags">
            ${chat.settings.muted && html`<span title="Muted"><${Icon} name="mute" size=${18} label="Muted" /></span>`}
            ${chat.settings.pinned && html`<span title="Pinned"><${Icon} name="pin" size=${18} label="Pinned" /></span>`}
            ${chat.unreadCount > 0 && html`<span class=${`badge ${chat.settings.muted ? 'muted' : ''}`} data-testid="unread-badge">${chat.unreadCount}</span>`}
          </span>
        </span>
      </span>
    </a>
    <button class="row-menu-btn icon-btn" aria-label=${`Options for ${title}`} aria-haspopup="menu" aria-expanded=${menu} onClick=${() => setMenu(!menu)}><${Icon} name="down" size=${20} /></button>
    ${menu &&
    html`<div class="menu" role="menu" ref=${menuRef}>
      <button role="menuitem" onClick=${toggle('pinned')}>${chat.settings.pinned ? 'Unpin chat' : 'Pin chat'}</button>
      <button role="menuitem" onClick=${toggle('muted')}>${chat.settings.muted ? 'Unmute' : 'Mute notifications'}</button>
      <button role="menuitem" onClick=${toggle('archived')}>${chat.settings.archived ? 'Unarchive chat' : 'Archive chat'}</button>
    </div>`}
  </li>`;
}

applyTheme();
if ('serviceWorker' in navigator && location.protocol !== 'file:') {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}
render(html`<${App} />`, document.getElementById('root'));
boot();
// A read-only handle for end-to-end tests and debugging in the console.
window.letschat = { state, lastSeenText };
