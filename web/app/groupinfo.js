// The chat's info panel: a contact's profile, or a group's picture, name, description and members
// (admins add, promote, remove; anyone leaves).

import { html, useState, useRef } from '/vendor/htm/standalone.module.js';
import * as store from './store.js';
import { state } from './store.js';
import * as api from './api.js';
import { Avatar, userName, useEscape } from './util.js';
import { Person, useAsync } from './panels.js';
import { Icon } from './icons.js';

function PanelBar({ title, onClose }) {
  return html`<header class="bar drawer-bar"><button class="icon-btn" aria-label="Close info" onClick=${onClose}><${Icon} name="close" /></button><h2>${title}</h2></header>`;
}

export function GroupInfo({ chat, onClose }) {
  const [busy, run] = useAsync();
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState(false);
  const [edit, setEdit] = useState({ name: '', description: '' });
  const [uploading, setUploading] = useState(false);
  const fileInput = useRef(null);
  useEscape(onClose);
  const meMember = chat.members.find((m) => m.userId === state.me.id);
  const admin = meMember && meMember.role === 'admin';
  const ids = new Set(chat.members.map((m) => m.userId));
  const candidates = state.contacts.filter((c) => !ids.has(c.contact.id));
  const refresh = () => store.refreshChat(chat.id);
  if (chat.type !== 'group') {
    const other = store.otherMember(chat);
    const u = other ? other.user : null;
    return html`<aside class="info-panel" aria-label="Contact info" data-testid="contact-info">
      <${PanelBar} title="Contact info" onClose=${onClose} />
      ${u && html`<div class="profile-head"><${Avatar} name=${userName(u)} url=${u.avatarUrl} id=${u.id} size=${96} /><strong>${userName(u)}</strong><small>@${u.username}</small><p>${u.bio}</p></div>`}
    </aside>`;
  }
  const setPhoto = run(async (file) => {
    setUploading(true);
    try {
      store.upsertChat(await api.upload(file, null, `/api/chats/${chat.id}/avatar`));
    } finally {
      setUploading(false);
    }
  });
  const member = (m, fn) => run(async () => {
    await fn(m);
    await refresh();
  });
  return html`<aside class="info-panel" aria-label="Group info" data-testid="group-info">
    <${PanelBar} title="Group info" onClose=${onClose} />
    <div class="drawer-body">
      <div class="profile-head"><${Avatar} name=${chat.name} url=${chat.avatarUrl} id=${chat.id} size=${96} />
        ${admin && html`<button class="small" disabled=${uploading} aria-label="Change group photo" onClick=${() => fileInput.current.click()}>${uploading ? 'Uploading…' : 'Change group photo'}</button>
          <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" hidden ref=${fileInput} data-testid="group-photo-input"
            onChange=${(e) => { const f = e.target.files[0]; e.target.value = ''; if (f) setPhoto(f); }} />`}
        <strong>${chat.name}</strong><small>Group · ${chat.members.length === 1 ? '1 member' : `${chat.members.length} members`}</small>${chat.description && html`<p>${chat.description}</p>`}
        ${admin && !editing && html`<button class="small" onClick=${() => { setEdit({ name: chat.name, description: chat.description || '' }); setEditing(true); }}>Edit group</button>`}
        ${editing && html`<form class="group-edit" onSubmit=${run(async (e) => { e.preventDefault(); await api.put(`/api/chats/${chat.id}`, edit); await refresh(); setEditing(false); })}>
          <label class="field"><span>Group name</span><input value=${edit.name} maxlength="100" required onInput=${(e) => setEdit({ ...edit, name: e.target.value })} /></label>
          <label class="field"><span>Description</span><textarea rows="2" value=${edit.description} onInput=${(e) => setEdit({ ...edit, description: e.target.value })}></textarea></label>
          <span><button class="small primary" type="submit" disabled=${busy}>Save</button> <button class="small" type="button" onClick=${() => setEditing(false)}>Cancel</button></span>
        </form>`}
      </div>
      <h3>Members</h3>
      ${admin && html`<button class="small" onClick=${() => setAdding(!adding)} aria-expanded=${adding}>Add members</button>`}
      ${adding && html`<div class="add-list">${candidates.map((c) => html`<${Person} user=${c.contact}><button class="small primary" disabled=${busy} onClick=${member(c.contact, (u) => api.post(`/api/chats/${chat.id}/members`, { memberId: u.id }))} aria-label=${`Add ${c.contact.username} to the group`}>Add</button><//>`)}
        ${candidates.length === 0 && html`<p class="muted">All your contacts are members.</p>`}</div>`}
      ${chat.members.map((m) => html`<${Person} user=${m.user} sub=${m.role === 'admin' ? 'admin' : ''}>
        ${admin && m.userId !== state.me.id && html`
          <button class="small" disabled=${busy} onClick=${member(m, (x) => api.put(`/api/chats/${chat.id}/members/${x.userId}`, { role: x.role === 'admin' ? 'member' : 'admin' }))}
            aria-label=${m.role === 'admin' ? `Dismiss ${m.user.username} as admin` : `Make ${m.user.username} admin`}>${m.role === 'admin' ? 'Dismiss as admin' : 'Make admin'}</button>
          <button class="small danger" disabled=${busy} onClick=${member(m, (x) => api.del(`/api/chats/${chat.id}/members/${x.userId}`))} aria-label=${`Remove ${m.user.username}`}>Remove</button>`}
      <//>`)}
      <button class="danger full" disabled=${busy} onClick=${run(async () => {
        if (!confirm(`Leave ${chat.name}?`)) return;
        await api.del(`/api/chats/${chat.id}`);
        location.hash = '#/';
      })}>Leave group</button>
    </div>
  </aside>`;
}
