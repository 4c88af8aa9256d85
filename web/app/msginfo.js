// "Message info" for one's own message: who received it and who read it, and when, from
// `GET /api/messages/:id/receipts` (sender only). Reloaded when a receipt event arrives.

import { html, useEffect, useRef, useState } from '/vendor/htm/standalone.module.js';
import * as api from './api.js';
import { state } from './store.js';
import { Avatar, userName, timeOf, dayLabel, preview } from './util.js';
import { Icon, TickIcon } from './icons.js';

function when(iso) {
  return `${dayLabel(iso)}, ${timeOf(iso)}`;
}

function People({ title, status, entries, chat, testid }) {
  const user = (id) => (chat.members.find((m) => m.userId === id) || {}).user || { id, username: 'former member' };
  return html`<section class="receipts" aria-label=${title} data-testid=${testid}>
    <h3><span class=${`ticks ${status}`}><${TickIcon} status=${status} /></span> ${title}</h3>
    ${entries.length === 0 && html`<p class="muted">${status === 'read' ? 'Nobody yet' : 'Nobody else yet'}</p>`}
    <ul>${entries.map((e) => html`<li data-testid="receipt" data-user-id=${e.userId}>
      <${Avatar} name=${userName(user(e.userId))} url=${user(e.userId).avatarUrl} id=${e.userId} size=${32} />
      <span class="receipt-name">${userName(user(e.userId))}</span>
      <time datetime=${e.at}>${when(e.at)}</time>
    </li>`)}</ul>
  </section>`;
}

export function MessageInfo({ message, chat, onClose }) {
  const ref = useRef(null);
  const [receipts, setReceipts] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const d = ref.current;
    d.showModal();
    return () => d.open && d.close();
  }, []);
  // Receipt events for this chat change the marks; reload then.
  const marks = JSON.stringify([...(state.marks.get(chat.id) || new Map())]);
  useEffect(() => {
    let live = true;
    api.get(`/api/messages/${message.id}/receipts`).then(
      (r) => live && (setReceipts(r), setError(null)),
      (e) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [message.id, marks]);
  const read = receipts ? receipts.readBy : [];
  const readIds = new Set(read.map((r) => r.userId));
  const delivered = receipts ? receipts.deliveredTo.filter((d) => !readIds.has(d.userId)) : [];
  return html`<dialog class="dialog message-info" ref=${ref} onClose=${onClose} aria-labelledby="message-info-title" data-testid="message-info">
    <header class="dialog-head"><h2 id="message-info-title">Message info</h2>
      <button class="icon-btn" aria-label="Close message info" onClick=${onClose}><${Icon} name="close" /></button></header>
    <div class="info-bubble"><span dir="auto">${preview(message)}</span><small>Sent ${when(message.createdAt)}</small></div>
    ${error && html`<p class="form-error" role="alert">${error}</p>`}
    ${!receipts && !error && html`<p role="status"><span class="spinner"></span> Loading…</p>`}
    ${receipts && html`
      <${People} title="Read by" status="read" entries=${read} chat=${chat} testid="read-by" />
      <${People} title="Delivered to" status="delivered" entries=${delivered} chat=${chat} testid="delivered-to" />`}
  </dialog>`;
}
