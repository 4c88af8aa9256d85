// The drawers of the left pane (new chat, new group, contacts, settings, search, starred) and the
// forward dialog; `Person`, `useAsync` and `MessageHits` are shared with the chat's side panels.

import { html, useState, useEffect, useRef } from '/vendor/htm/standalone.module.js';
import * as store from './store.js';
import { state, chatTitle } from './store.js';
import * as api from './api.js';
import { Avatar, userName, preview, shortWhen, lastSeenText } from './util.js';
import { applyTheme, currentTheme } from './theme.js';
import { Icon } from './icons.js';

function Drawer({ title, onClose, children, testid }) {
  const ref = useRef(null);
  useEffect(() => {
    const first = ref.current && ref.current.querySelector('input, button:not(.back)');
    if (first) first.focus();
  }, []);
  return html`<section class="drawer" ref=${ref} aria-label=${title} data-testid=${testid}>
    <header class="bar drawer-bar"><button class="icon-btn back" aria-label="Back" onClick=${onClose}><${Icon} name="back" /></button><h2>${title}</h2></header>
    <div class="drawer-body">${children}</div>
  </section>`;
}

export function Person({ user, sub, children }) {
  return html`<div class="person" data-testid="person" data-username=${user.username}>
    <${Avatar} name=${userName(user)} url=${user.avatarUrl} id=${user.id} size=${40} />
    <span class="person-text"><span class="person-name">${userName(user)}</span><small>@${user.username}${sub ? ` · ${sub}` : ''}</small></span>
    <span class="person-actions">${children}</span>
  </div>`;
}

export function useAsync() {
  const [busy, setBusy] = useState(false);
  const run = (fn) => async (...args) => {
    setBusy(true);
    try {
      return await fn(...args);
    } catch (e) {
      store.toast(e.message);
    } finally {
      setBusy(false);
    }
  };
  return [busy, run];
}

async function openOneOnOne(userId) {
  const chat = await api.post('/api/chats', { type: 'one_on_one', memberIds: [userId] });
  state.chats.set(chat.id, { ...(state.chats.get(chat.id) || {}), ...chat });
  store.changed();
  location.hash = `#/chat/${chat.id}`;
}

function useUserSearch() {
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (q.trim().length < 2) {
      setResults(null);
      return undefined;
    }
    const t = setTimeout(async () => {
      try {
        const { users } = await api.get(`/api/users/search?q=${encodeURIComponent(q.trim())}`);
        setResults(users);
        setError(null);
      } catch (e) {
        setError(e.message);
      }
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  return { q, setQ, results, setResults, error };
}

export function NewChat({ onClose }) {
  const s = useUserSearch();
  const [busy, run] = useAsync();
  const start = run(async (id) => {
    await openOneOnOne(id);
    onClose();
  });
  return html`<${Drawer} title="New chat" onClose=${onClose} testid="new-chat">
    <input type="search" class="full" placeholder="Search people by name or username" aria-label="Search people" value=${s.q} onInput=${(e) => s.setQ(e.target.value)} />
    ${s.error && html`<p class="form-error" role="alert">${s.error}</p>`}
    <h3>${s.results ? 'People' : 'Contacts'}</h3>
    ${(s.results || state.contacts.map((c) => c.contact)).map((u) => html`<button class="person-btn" disabled=${busy} onClick=${() => start(u.id)} aria-label=${`Chat with ${userName(u)}`}><${Person} user=${u} /></button>`)}
    ${s.results && s.results.length === 0 && html`<p class="muted">Nobody found.</p>`}
    ${!s.results && state.contacts.length === 0 && html`<p class="muted">No contacts yet: search for people above, or add them in Contacts.</p>`}
  <//>`;
}

export function NewGroup({ onClose }) {
  const [name, setName] = useState('');
  const [picked, setPicked] = useState([]);
  const [busy, run] = useAsync();
  const toggle = (id) => setPicked(picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);
  const create = run(async (e) => {
    e.preventDefault();
    const chat = await api.post('/api/chats', { type: 'group', name: name.trim(), memberIds: picked });
    state.chats.set(chat.id, chat);
    store.changed();
    onClose();
    location.hash = `#/chat/${chat.id}`;
  });
  return html`<${Drawer} title="New group" onClose=${onClose} testid="new-group">
    <form onSubmit=${create}>
      <label class="field"><span>Group name</span><input value=${name} maxlength="100" required aria-label="Group name" onInput=${(e) => setName(e.target.value)} /></label>
      <fieldset class="pick"><legend>Members (from your contacts)</legend>
        ${state.contacts.map((c) => html`<label class="person-check"><input type="checkbox" checked=${picked.includes(c.contact.id)} onChange=${() => toggle(c.contact.id)} aria-label=${`Add ${userName(c.contact)}`} /><${Person} user=${c.contact} /></label>`)}
        ${state.contacts.length === 0 && html`<p class="muted">Add contacts first to invite them.</p>`}
      </fieldset>
      <button class="primary" type="submit" disabled=${busy || !name.trim()}>Create group</button>
    </form>
  <//>`;
}

export function Contacts({ onClose }) {
  const s = useUserSearch();
  const [busy, run] = useAsync();
  useEffect(() => {
    store.loadContacts().catch(() => {});
  }, []);
  const after = async () => {
    await store.loadContacts();
    if (s.results) s.setQ(`${s.q} `.trimEnd() + '');
  };
  const request = run(async (u) => {
    await api.post('/api/contacts', { contactId: u.id });
    s.setResults(s.results.map((x) => (x.id === u.id ? { ...x, contactStatus: 'pending_outgoing' } : x)));
    await store.loadContacts();
  });
  const decide = run(async (id, status) => {
    await api.put(`/api/contacts/${id}`, { status });
    await after();
  });
  const remove = run(async (id) => {
    await api.del(`/api/contacts/${id}`);
    await after();
  });
  const block = run(async (userId) => {
    await api.post('/api/blocks', { userId });
    await after();
  });
  const unblock = run(async (userId) => {
    await api.del(`/api/blocks/${userId}`);
    await after();
  });
  const label = { none: null, pending_outgoing: 'Request sent', pending_incoming: 'Asked you', accepted: 'Contact', blocked: 'Blocked' };
  return html`<${Drawer} title="Contacts" onClose=${onClose} testid="contacts">
    <input type="search" class="full" placeholder="Find people by name, username or email" aria-label="Find people" value=${s.q} onInput=${(e) => s.setQ(e.target.value)} />
    ${s.results && html`<h3>Search results</h3>
      ${s.results.map((u) => html`<${Person} user=${u} sub=${label[u.contactStatus]}>
        ${u.contactStatus === 'none' && html`<button class="small" disabled=${busy} onClick=${() => request(u)} aria-label=${`Add ${u.username} as a contact`}>Add</button>`}
        ${u.contactStatus === 'accepted' && html`<button class="small" onClick=${() => openOneOnOne(u.id).then(onClose)}>Message</button>`}
      <//>`)}
      ${s.results.length === 0 && html`<p class="muted">Nobody found.</p>`}`}
    <h3>Requests received (${state.pending.length})</h3>
    ${state.pending.map((r) => html`<${Person} user=${r.user}>
      <button class="small primary" disabled=${busy} onClick=${() => decide(r.id, 'accepted')} aria-label=${`Accept ${r.user.username}`}>Accept</button>
      <button class="small" disabled=${busy} onClick=${() => decide(r.id, 'rejected')} aria-label=${`Reject ${r.user.username}`}>Reject</button>
      <button class="small danger" disabled=${busy} onClick=${() => block(r.user.id)} aria-label=${`Block ${r.user.username}`}>Block</button>
    <//>`)}
    ${state.pending.length === 0 && html`<p class="muted">No requests.</p>`}
    <h3>Requests sent (${state.sent.length})</h3>
    ${state.sent.map((r) => html`<${Person} user=${r.user} sub="waiting"><button class="small" onClick=${() => remove(r.id)} aria-label=${`Cancel request to ${r.user.username}`}>Cancel</button><//>`)}
    <h3>Contacts (${state.contacts.length})</h3>
    ${state.contacts.map((c) => html`<${Person} user=${c.contact} sub=${lastSeenText(state.presence.get(c.contact.id))}>
      <button class="small" onClick=${() => openOneOnOne(c.contact.id).then(onClose)} aria-label=${`Message ${c.contact.username}`}>Message</button>
      <button class="small" disabled=${busy} onClick=${() => remove(c.id)} aria-label=${`Remove ${c.contact.username}`}>Remove</button>
      <button class="small danger" disabled=${busy} onClick=${() => block(c.contact.id)} aria-label=${`Block ${c.contact.username}`}>Block</button>
    <//>`)}
    <h3>Blocked (${state.blocks.length})</h3>
    ${state.blocks.map((b) => html`<${Person} user=${b.user}><button class="small" disabled=${busy} onClick=${() => unblock(b.user.id)} aria-label=${`Unblock ${b.user.username}`}>Unblock</button><//>`)}
  <//>`;
}

export function Settings({ onClose }) {
  const me = state.me;
  const [profile, setProfile] = useState({ displayName: me.displayName || '', bio: me.bio || '' });
  const [sessions, setSessions] = useState(null);
  const [theme, setTheme] = useState(currentTheme());
  const [notify, setNotify] = useState(store.notificationsWanted());
  const [pw, setPw] = useState({ currentPassword: '', newPassword: '' });
  const [busy, run] = useAsync();
  const loadSessions = async () => setSessions((await api.get('/api/auth/sessions')).sessions);
  useEffect(() => {
    loadSessions().catch(() => setSessions([]));
  }, []);
  const saveProfile = run(async (e) => {
    e.preventDefault();
    const { user } = await api.put('/api/auth/profile', profile);
    state.me = user;
    store.changed();
    store.toast('Profile saved');
  });
  const setting = run(async (patch) => {
    const { user } = await api.put('/api/users/me/settings', patch);
    state.me = user;
    store.changed();
  });
  const avatar = run(async (file) => {
    const form = new FormData();
    form.append('file', file);
    const res = await fetch('/api/users/me/avatar', { method: 'POST', headers: { authorization: `Bearer ${await api.freshToken()}` }, body: form });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new api.ApiError(res.status, res.status === 404 ? { error: 'Avatar upload is not available on this server yet.' } : body);
    state.me = body.user;
    store.changed();
  });
  const changePassword = run(async (e) => {
    e.preventDefault();
    await api.put('/api/auth/password', { ...pw, logoutOtherSessions: true });
    setPw({ currentPassword: '', newPassword: '' });
    store.toast('Password changed; other sessions were signed out');
    await loadSessions();
  });
  const toggleNotify = async (on) => {
    localStorage.setItem('letschat.notifications', on ? 'on' : 'off');
    setNotify(on);
    if (on && 'Notification' in window && Notification.permission === 'default') await Notification.requestPermission();
    await setting({ notifications: on });
  };
  return html`<${Drawer} title="Profile and settings" onClose=${onClose} testid="settings">
    <div class="profile-head">
      <${Avatar} name=${userName(me)} url=${me.avatarUrl} id=${me.id} size=${96} />
      <label class="small button-like">Change photo<input type="file" accept="image/*" hidden onChange=${(e) => e.target.files[0] && avatar(e.target.files[0])} /></label>
      <small>@${me.username} · ${me.email}</small>
    </div>
    <form onSubmit=${saveProfile} aria-label="Profile">
      <label class="field"><span>Display name</span><input value=${profile.displayName} maxlength="100" onInput=${(e) => setProfile({ ...profile, displayName: e.target.value })} /></label>
      <label class="field"><span>About</span><textarea rows="2" maxlength="500" value=${profile.bio} onInput=${(e) => setProfile({ ...profile, bio: e.target.value })}></textarea></label>
      <button class="primary small" type="submit" disabled=${busy}>Save profile</button>
    </form>
    <h3>Privacy</h3>
    <label class="field"><span>Who can see my last seen and online</span>
      <select value=${me.settings.lastSeenVisibility} onChange=${(e) => setting({ lastSeenVisibility: e.target.value })}>
        <option value="everyone">Everyone</option><option value="contacts">My contacts</option><option value="nobody">Nobody</option>
      </select></label>
    <label class="switch"><input type="checkbox" checked=${me.settings.readReceipts} onChange=${(e) => setting({ readReceipts: e.target.checked })} /> Read receipts</label>
    <h3>Appearance and notifications</h3>
    <fieldset class="theme-pick"><legend>Theme</legend>
      ${['light', 'dark', 'system'].map((t) => html`<label><input type="radio" name="theme" value=${t} checked=${theme === t} onChange=${() => { setTheme(t); applyTheme(t); }} /> ${t[0].toUpperCase() + t.slice(1)}</label>`)}
    </fieldset>
    <label class="switch"><input type="checkbox" checked=${notify} onChange=${(e) => toggleNotify(e.target.checked)} /> Desktop notifications while the tab is hidden</label>
    <h3>Change password</h3>
    <form onSubmit=${changePassword} aria-label="Change password">
      <label class="field"><span>Current password</span><input type="password" autocomplete="current-password" value=${pw.currentPassword} onInput=${(e) => setPw({ ...pw, currentPassword: e.target.value })} /></label>
      <label class="field"><span>New password</span><input type="password" autocomplete="new-password" value=${pw.newPassword} onInput=${(e) => setPw({ ...pw, newPassword: e.target.value })} /></label>
      <button class="small" type="submit" disabled=${busy || !pw.newPassword}>Change password</button>
    </form>
    <h3>Sessions</h3>
    ${sessions === null && html`<p role="status"><span class="spinner"></span> Loading…</p>`}
    <ul class="sessions">${(sessions || []).map((s) => html`<li>
      <span><strong>${s.current ? 'This device' : s.userAgent || 'Unknown device'}</strong><small>${s.ip || ''} · last active ${shortWhen(s.lastUsedAt || s.createdAt)}</small></span>
      ${!s.current && html`<button class="small danger" onClick=${run(async () => { await api.del(`/api/auth/sessions/${s.id}`); await loadSessions(); })}>Revoke</button>`}
    </li>`)}</ul>
    <button class="danger full" onClick=${() => store.logout()}>Log out</button>
  <//>`;
}

/** Found or starred messages; `inChat` (search within one chat) titles them by sender, not chat. */
export function MessageHits({ messages, onPick, inChat = false }) {
  const sender = (m) => (m.senderId === state.me.id ? 'You' : userName(m.sender));
  return html`<ul class="hits">${messages.map((m) => html`<li><button class="hit" data-testid="search-hit" onClick=${() => onPick(m)}>
    <span class="row-top"><span class="row-title">${inChat ? sender(m) : m.chat ? m.chat.name || chatName(m.chatId) : chatName(m.chatId)}</span><span class="row-time">${shortWhen(m.createdAt)}</span></span>
    <span class="row-preview">${inChat ? preview(m) : `${userName(m.sender)}: ${preview(m)}`}</span>
  </button></li>`)}</ul>`;
}

function chatName(chatId) {
  const chat = state.chats.get(chatId);
  return chat ? chatTitle(chat) : 'Chat';
}

export function SearchMessages({ onClose }) {
  const [q, setQ] = useState('');
  const [hits, setHits] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!q.trim()) {
      setHits(null);
      return undefined;
    }
    const t = setTimeout(async () => {
      try {
        setHits((await api.get(`/api/messages/search?q=${encodeURIComponent(q.trim())}`)).messages);
        setError(null);
      } catch (e) {
        setError(e.message);
      }
    }, 250);
    return () => clearTimeout(t);
  }, [q]);
  return html`<${Drawer} title="Search messages" onClose=${onClose} testid="search">
    <input type="search" class="full" placeholder="Search all messages" aria-label="Search all messages" value=${q} onInput=${(e) => setQ(e.target.value)} />
    ${error && html`<p class="form-error" role="alert">${error}</p>`}
    ${hits && hits.length === 0 && html`<p class="muted">No messages found.</p>`}
    ${hits && html`<${MessageHits} messages=${hits} onPick=${(m) => (location.hash = `#/chat/${m.chatId}?m=${m.id}`)} />`}
  <//>`;
}

export function Starred({ onClose }) {
  const [items, setItems] = useState(null);
  useEffect(() => {
    api.get('/api/messages/starred').then((r) => setItems(r.messages), (e) => store.toast(e.message));
  }, []);
  return html`<${Drawer} title="Starred messages" onClose=${onClose} testid="starred">
    ${items === null && html`<p role="status"><span class="spinner"></span> Loading…</p>`}
    ${items && items.length === 0 && html`<p class="muted">No starred messages. Star one from its menu.</p>`}
    ${items && html`<${MessageHits} messages=${items} onPick=${(m) => (location.hash = `#/chat/${m.chatId}?m=${m.id}`)} />`}
  <//>`;
}

export function ForwardDialog({ message, onClose }) {
  const ref = useRef(null);
  const [picked, setPicked] = useState([]);
  const [busy, run] = useAsync();
  useEffect(() => {
    ref.current.showModal();
  }, []);
  const send = run(async () => {
    await store.forward(message, picked);
    store.toast('Forwarded');
    onClose();
  });
  return html`<dialog class="dialog" ref=${ref} onClose=${onClose} aria-label="Forward message">
    <h2>Forward to…</h2>
    <div class="pick">${store.sortedChats().map((c) => html`<label class="person-check"><input type="checkbox" checked=${picked.includes(c.id)} onChange=${() => setPicked(picked.includes(c.id) ? picked.filter((x) => x !== c.id) : [...picked, c.id])} /> ${chatTitle(c)}</label>`)}</div>
    <div class="dialog-actions"><button class="small" onClick=${onClose}>Cancel</button><button class="small primary" disabled=${busy || !picked.length} onClick=${send}>Forward</button></div>
  </dialog>`;
}
