// Small helpers for rendering: links, times, sizes, avatars. Nothing here builds HTML from strings.

import { html, useEffect, useLayoutEffect, useRef, useState } from '/vendor/htm/standalone.module.js';

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;

/** Text with http(s) URLs turned into safe links; everything else stays plain text. */
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let href = match[0];
    try {
      const url = new URL(href);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      href = url.href;
    } catch {
      continue;
    }
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(html`<a href=${href} target="_blank" rel="noopener noreferrer">${match[0]}</a>`);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function timeOf(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function dayLabel(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (dayKey(iso) === dayKey(today.toISOString())) return 'Today';
  if (dayKey(iso) === dayKey(yesterday.toISOString())) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

/** The chat list's time: a time today, a weekday this week, else a date. */
export function shortWhen(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (dayKey(iso) === dayKey(new Date().toISOString())) return timeOf(iso);
  if (Date.now() - d.getTime() < 6 * 86400000) return d.toLocaleDateString([], { weekday: 'short' });
  return d.toLocaleDateString();
}

export function lastSeenText(p) {
  if (!p) return '';
  if (p.status === 'online') return 'online';
  if (p.status === 'away') return 'away';
  if (!p.lastSeen) return '';
  return `last seen ${dayKey(p.lastSeen) === dayKey(new Date().toISOString()) ? 'today' : shortWhen(p.lastSeen)} at ${timeOf(p.lastSeen)}`;
}

export function fileSize(bytes) {
  if (bytes == null) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

const COLORS = ['#00a884', '#5f66cd', '#e26ab6', '#f0a043', '#3b9de0', '#d35f5f', '#7a8f36', '#9b5de5'];

function initials(name) {
  return (name || '?')
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => [...w][0].toUpperCase())
    .join('');
}

export function Avatar({ name, url, id, size = 40 }) {
  const color = COLORS[[...(id || name || '')].reduce((a, c) => a + c.charCodeAt(0), 0) % COLORS.length];
  const style = { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` };
  // A picture that cannot load (gone, or from another origin, which the CSP refuses) falls back
  // to initials.
  const [failed, setFailed] = useState(null);
  if (url && failed !== url) return html`<img class="avatar" src=${url} alt="" style=${style} onError=${() => setFailed(url)} />`;
  return html`<span class="avatar" aria-hidden="true" style=${{ ...style, background: color }}>${initials(name)}</span>`;
}

export function userName(u) {
  return u ? u.displayName || u.username : 'Unknown';
}

export function preview(m, meId) {
  if (!m) return '';
  if (m.deletedAt) return 'This message was deleted';
  const prefix = m.senderId === meId ? 'You: ' : '';
  if (m.type === 'text' || m.type === 'system') return prefix + m.content;
  const label = { image: '📷 Photo', video: '🎥 Video', audio: '🎵 Audio', file: '📄 File', call: '📞 Call' }[m.type] || m.type;
  return prefix + (m.content ? `${label}: ${m.content}` : m.file ? `${label}: ${m.file.name}` : label);
}

/** For a popup menu: focus its first item when it opens; close on Escape or a click outside. */
export function useMenu(open, setOpen) {
  const ref = useRef(null);
  // As the menu appears, not after the next frame: a key pressed at once (or in a tab that is
  // not painting) must already reach the menu.
  useLayoutEffect(() => {
    if (!open) return undefined;
    const first = ref.current && ref.current.querySelector('button, a');
    if (first) first.focus();
    const onDown = (e) => {
      // The toggle button closes the menu by its own click.
      if (ref.current && !ref.current.contains(e.target) && !e.target.closest('[aria-expanded="true"]')) setOpen(false);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        setOpen(false);
      }
    };
    document.addEventListener('pointerdown', onDown, true);
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('pointerdown', onDown, true);
      document.removeEventListener('keydown', onKey, true);
    };
  }, [open]);
  return ref;
}

/** Escape closes a side panel (not a modal dialog: those close themselves), before the layout's
 * own Escape handler would close the whole chat. */
export function useEscape(onClose) {
  useEffect(() => {
    const onKey = (e) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open], .menu')) return;
      e.preventDefault();
      onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
}
