// Search within one chat (`GET /api/messages/search?chatId=`), in a panel beside the conversation;
// picking a hit jumps to the message like the global search does.

import { html, useState, useEffect, useRef } from '/vendor/htm/standalone.module.js';
import * as api from './api.js';
import { useEscape } from './util.js';
import { MessageHits } from './panels.js';
import { Icon } from './icons.js';

export function ChatSearch({ chat, onClose }) {
  const [q, setQ] = useState('');
  const [hits, setHits] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEscape(onClose);
  useEffect(() => input.current.focus(), []);
  useEffect(() => {
    const query = q.trim();
    if (!query) {
      setHits(null);
      return undefined;
    }
    let live = true;
    const t = setTimeout(async () => {
      setBusy(true);
      try {
        const params = new URLSearchParams({ q: query, chatId: chat.id, limit: '50' });
        const { messages } = await api.get(`/api/messages/search?${params}`);
        // The server filters by chat; keep the client honest if it ever did not.
        if (live) setHits(messages.filter((m) => m.chatId === chat.id));
        if (live) setError(null);
      } catch (e) {
        if (live) setError(e.message);
      } finally {
        if (live) setBusy(false);
      }
    }, 250);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q, chat.id]);
  return html`<aside class="info-panel" aria-label="Search in chat" data-testid="chat-search">
    <header class="bar drawer-bar"><button class="icon-btn" aria-label="Close search" onClick=${onClose}><${Icon} name="close" /></button><h2>Search messages</h2></header>
    <div class="drawer-body">
      <input type="search" class="full" placeholder="Search in this chat" aria-label="Search in this chat" ref=${input}
        value=${q} onInput=${(e) => setQ(e.target.value)} />
      ${busy && html`<p role="status" class="muted"><span class="spinner"></span> Searching…</p>`}
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${hits && hits.length === 0 && html`<p class="muted">No messages found.</p>`}
      ${!hits && html`<p class="muted">Search for messages in this chat.</p>`}
      ${hits && html`<${MessageHits} messages=${hits} inChat=${true} onPick=${(m) => {
        location.hash = `#/chat/${chat.id}?m=${m.id}`;
        // Where the panel covers the conversation, get out of the way.
        if (matchMedia('(max-width: 1100px)').matches) onClose();
      }} />`}
    </div>
  </aside>`;
}
