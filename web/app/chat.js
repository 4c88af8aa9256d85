// One conversation: header, pinned bar, message list with history, composer, and group info.

import { html, useState, useEffect, useRef, useLayoutEffect } from '/vendor/htm/standalone.module.js';
import * as store from './store.js';
import { state, chatTitle, otherMember } from './store.js';
import * as api from './api.js';
import { Avatar, linkify, timeOf, dayKey, dayLabel, lastSeenText, userName, fileSize, useMenu } from './util.js';
import { ForwardDialog } from './panels.js';
import { GroupInfo } from './groupinfo.js';
import { ChatSearch } from './chatsearch.js';
import { MessageInfo } from './msginfo.js';
import { QUICK_REACTIONS, ReactionPicker } from './reactions.js';
import { Icon, TickIcon } from './icons.js';

export function ChatView({ chatId, jumpTo }) {
  const chat = state.chats.get(chatId);
  const [replyTo, setReplyTo] = useState(null);
  const [editing, setEditing] = useState(null);
  const [side, setSide] = useState(null); // 'info' | 'search' | null
  const [forwarding, setForwarding] = useState(null);
  const [infoFor, setInfoFor] = useState(null);
  const [picking, setPicking] = useState(null);
  const [viewer, setViewer] = useState(null);
  const [menu, setMenu] = useState(false);
  useEffect(() => {
    store.loadPins(chatId).catch(() => {});
  }, [chatId]);
  const title = chatTitle(chat);
  const toggleSide = (which) => () => setSide(side === which ? null : which);
  const closeSide = () => setSide(null);
  const mine = picking && (picking.reactions || []).find((r) => r.userIds.includes(state.me.id));
  return html`<section class=${`chat ${side ? 'with-panel' : ''}`} aria-label=${`Chat with ${title}`} data-testid="chat-view">
    <${ChatHeader} chat=${chat} title=${title} onInfo=${toggleSide('info')} onSearch=${toggleSide('search')} menu=${menu} setMenu=${setMenu} />
    <${PinnedBar} chatId=${chatId} />
    <${MessageList} chat=${chat} jumpTo=${jumpTo}
      onReply=${(m) => { setEditing(null); setReplyTo(m); }}
      onEdit=${(m) => { setReplyTo(null); setEditing(m); }}
      onForward=${setForwarding} onView=${setViewer} onInfo=${setInfoFor} onPick=${setPicking} />
    <${Composer} chat=${chat} replyTo=${replyTo} clearReply=${() => setReplyTo(null)}
      editing=${editing} setEditing=${setEditing} />
    ${side === 'info' && html`<${GroupInfo} chat=${chat} onClose=${closeSide} />`}
    ${side === 'search' && html`<${ChatSearch} chat=${chat} onClose=${closeSide} />`}
    ${infoFor && html`<${MessageInfo} message=${infoFor} chat=${chat} onClose=${() => setInfoFor(null)} />`}
    ${picking && html`<${ReactionPicker} current=${mine && mine.emoji} onClose=${() => setPicking(null)}
      onPick=${(emoji) => { const m = picking; setPicking(null); store.react(m, emoji).catch((e) => store.toast(e.message)); }} />`}
    ${forwarding && html`<${ForwardDialog} message=${forwarding} onClose=${() => setForwarding(null)} />`}
    ${viewer && html`<${Viewer} message=${viewer} onClose=${() => setViewer(null)} />`}
  </section>`;
}

function ChatHeader({ chat, title, onInfo, onSearch, menu, setMenu }) {
  const menuRef = useMenu(menu, setMenu);
  const typing = store.typingNames(chat.id);
  let sub;
  if (typing.length) sub = html`<span class="typing" data-testid="typing">${chat.type === 'group' ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : 'typing…'}</span>`;
  else if (chat.type === 'one_on_one') {
    const other = otherMember(chat);
    sub = other ? lastSeenText(state.presence.get(other.userId) || { status: other.user.status, lastSeen: other.user.lastSeen }) : '';
  } else sub = chat.members.map((m) => (m.userId === state.me.id ? 'You' : userName(m.user))).join(', ');
  const toggle = (key) => () => {
    setMenu(false);
    store.setChatSettings(chat.id, { [key]: !chat.settings[key] }).catch((e) => store.toast(e.message));
  };
  return html`<header class="bar chat-header">
    <a class="icon-btn back" href="#/" aria-label="Back to chats"><${Icon} name="back" /></a>
    <button class="chat-header-main" onClick=${onInfo} aria-label=${`${chat.type === 'group' ? 'Group' : 'Contact'} info for ${title}`}>
      <${Avatar} name=${title} url=${chat.avatarUrl} id=${chat.id} size=${40} />
      <span class="chat-header-text"><span class="chat-title" data-testid="chat-title">${title}</span><span class="chat-sub" data-testid="chat-sub" aria-live="polite">${sub}</span></span>
    </button>
    <div class="bar-actions">
      <button class="icon-btn" aria-label="Search in chat" title="Search in chat" onClick=${onSearch}><${Icon} name="search" /></button>
      <button class="icon-btn" aria-label="Chat options" aria-haspopup="menu" aria-expanded=${menu} onClick=${() => setMenu(!menu)}><${Icon} name="more" /></button>
      ${menu && html`<div class="menu right" role="menu" ref=${menuRef}>
        <button role="menuitem" onClick=${() => { setMenu(false); onInfo(); }}>${chat.type === 'group' ? 'Group info' : 'Contact info'}</button>
        <button role="menuitem" onClick=${() => { setMenu(false); onSearch(); }}>Search</button>
        <button role="menuitem" onClick=${toggle('muted')}>${chat.settings.muted ? 'Unmute' : 'Mute notifications'}</button>
        <button role="menuitem" onClick=${toggle('pinned')}>${chat.settings.pinned ? 'Unpin chat' : 'Pin chat'}</button>
        <button role="menuitem" onClick=${toggle('archived')}>${chat.settings.archived ? 'Unarchive chat' : 'Archive chat'}</button>
      </div>`}
    </div>
  </header>`;
}

function PinnedBar({ chatId }) {
  const pins = state.pins.get(chatId) || [];
  if (!pins.length) return null;
  const last = pins[pins.length - 1];
  return html`<button class="pinned-bar" onClick=${() => (location.hash = `#/chat/${chatId}?m=${last.id}`)} aria-label="Go to pinned message">
    <${Icon} name="pin" size=${18} /> <span>${last.deletedAt ? 'Deleted message' : last.content || (last.file && last.file.name) || last.type}</span>${pins.length > 1 && html` <small>(${pins.length} pinned)</small>`}
  </button>`;
}

/** Where the "N unread messages" divider goes: before the first of the `count` newest messages
 * from others, counted once (when opening) so that it stays put while new ones arrive. */
function useUnreadDivider(chat, b, jumpTo, listRef, atBottom) {
  const [count] = useState(() => chat.unreadCount || 0);
  const [anchor, setAnchor] = useState(null);
  const tries = useRef(0);
  useEffect(() => {
    if (!count || anchor || b.loading) return;
    const others = b.list.filter((m) => m.senderId !== state.me.id && m.type !== 'system' && !m.pending);
    if (others.length < count && b.hasMore && tries.current < 5) {
      tries.current += 1;
      store.loadHistory(chat.id);
      return;
    }
    if (!others.length) return;
    const first = others[Math.max(0, others.length - count)];
    setAnchor(first.id);
  });
  // Show the divider near the top of the view when opening, unless jumping to a message.
  useLayoutEffect(() => {
    if (!anchor || jumpTo) return;
    const el = document.getElementById('unread-divider');
    const list = listRef.current;
    if (!el || !list) return;
    const target = el.getBoundingClientRect().top - list.getBoundingClientRect().top + list.scrollTop - 40;
    if (target < list.scrollHeight - list.clientHeight - 40) {
      atBottom.current = false;
      list.scrollTop = Math.max(0, target);
    }
  }, [anchor]);
  return { anchor, count };
}

function MessageList({ chat, jumpTo, onReply, onEdit, onForward, onView, onInfo, onPick }) {
  const ref = useRef(null);
  const b = state.messages.get(chat.id) || { list: [], loading: true, hasMore: true };
  const atBottom = useRef(true);
  const prevHeight = useRef(0);
  const prevFirst = useRef(null);
  const [showJump, setShowJump] = useState(false);
  const [highlight, setHighlight] = useState(null);
  const unread = useUnreadDivider(chat, b, jumpTo, ref, atBottom);

  // Keep the view pinned to the bottom on new messages, and steady when older ones load above.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = b.list[0] && b.list[0].id;
    if (prevFirst.current && first !== prevFirst.current && !atBottom.current) {
      el.scrollTop += el.scrollHeight - prevHeight.current;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
    prevFirst.current = first;
    prevHeight.current = el.scrollHeight;
  });

  useEffect(() => {
    if (!jumpTo) return;
    store.ensureLoaded(chat.id, jumpTo).then((found) => {
      const el = document.getElementById(`m-${jumpTo}`);
      if (found && el) {
        atBottom.current = false;
        el.scrollIntoView({ block: 'center' });
        setHighlight(jumpTo);
        el.focus({ preventScroll: true });
        setTimeout(() => setHighlight(null), 2500);
      } else store.toast('That message is no longer available.');
    });
  }, [jumpTo, chat.id]);

  const onScroll = () => {
    const el = ref.current;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    setShowJump(!atBottom.current);
    if (el.scrollTop < 120 && b.hasMore && !b.loading) store.loadHistory(chat.id);
    if (atBottom.current) store.markChatRead(chat.id);
  };

  const jumpToNewest = () => {
    atBottom.current = true;
    ref.current.scrollTop = ref.current.scrollHeight;
    if (jumpTo) location.hash = `#/chat/${chat.id}`;
  };

  const items = [];
  let lastDay = null;
  let prevSender = null;
  for (const m of b.list) {
    const day = dayKey(m.createdAt);
    if (day !== lastDay) {
      items.push(html`<li class="day-sep" key=${`d-${day}`}><span>${dayLabel(m.createdAt)}</span></li>`);
      lastDay = day;
      prevSender = null;
    }
    if (m.id === unread.anchor) {
      items.push(html`<li class="unread-sep" id="unread-divider" key="unread" data-testid="unread-divider">
        <span>${unread.count === 1 ? '1 unread message' : `${unread.count} unread messages`}</span></li>`);
      prevSender = null;
    }
    items.push(html`<${Message} key=${m.id} m=${m} chat=${chat} first=${prevSender !== m.senderId} highlight=${highlight === m.id}
      onReply=${onReply} onEdit=${onEdit} onForward=${onForward} onView=${onView} onInfo=${onInfo} onPick=${onPick} />`);
    prevSender = m.type === 'system' ? null : m.senderId;
  }
  return html`<div class="messages-wrap">
    <ol class="messages" ref=${ref} onScroll=${onScroll} aria-label="Messages" aria-live="polite" data-testid="messages" tabindex="0">
      ${b.loading && html`<li class="loading-row" role="status"><span class="spinner"></span> Loading messages…</li>`}
      ${b.error && html`<li class="error-row" role="alert">${b.error} <button class="link" onClick=${() => store.loadHistory(chat.id)}>Retry</button></li>`}
      ${!b.hasMore && !b.loading && html`<li class="day-sep"><span><${Icon} name="lock" size=${12} /> Start of the conversation</span></li>`}
      ${items}
    </ol>
    ${showJump && html`<button class="jump-newest" aria-label="Jump to newest" onClick=${jumpToNewest}><${Icon} name="down" />${chat.unreadCount > 0 && html`<span class="badge">${chat.unreadCount}</span>`}</button>`}
  </div>`;
}

function Ticks({ m }) {
  const status = store.messageStatus(m);
  const label = { pending: 'Sending', failed: 'Not sent', sent: 'Sent', delivered: 'Delivered', read: 'Read' }[status];
  return html`<span class=${`ticks ${status}`} data-testid="ticks" data-status=${status} title=${label} aria-label=${label}><${TickIcon} status=${status} /></span>`;
}

function Message({ m, chat, first, highlight, onReply, onEdit, onForward, onView, onInfo, onPick }) {
  const mine = m.senderId === state.me.id;
  const [menu, setMenu] = useState(false);
  const menuRef = useMenu(menu, setMenu);
  if (m.type === 'system') return html`<li class="system-msg" id=${`m-${m.id}`}><span>${m.content}</span></li>`;
  const deleted = !!m.deletedAt;
  const pinned = (state.pins.get(chat.id) || []).some((p) => p.id === m.id);
  const canEdit = mine && !deleted && m.type === 'text' && !m.pending && Date.now() - Date.parse(m.createdAt) < 15 * 60000;
  const isAdmin = chat.members.some((x) => x.userId === state.me.id && x.role === 'admin');
  const canDeleteAll = !deleted && !m.pending && ((mine && Date.now() - Date.parse(m.createdAt) < 15 * 60000) || (chat.type === 'group' && isAdmin));
  const act = (fn) => async () => {
    setMenu(false);
    try {
      await fn();
    } catch (e) {
      store.toast(e.message);
    }
  };
  const sender = m.sender || (chat.members.find((x) => x.userId === m.senderId) || {}).user;
  const onContextMenu = (e) => {
    if (m.pending || e.target.closest('a')) return;
    e.preventDefault();
    setMenu(true);
  };
  return html`<li id=${`m-${m.id}`} tabindex="-1" onContextMenu=${onContextMenu} class=${`msg ${mine ? 'out' : 'in'} ${first ? 'first' : ''} ${highlight ? 'highlight' : ''}`}
    data-testid="message" data-message-id=${m.id} data-mine=${mine ? 'yes' : 'no'}>
    <div class="bubble">
      ${chat.type === 'group' && !mine && first && html`<div class="sender-name">${userName(sender)}</div>`}
      ${m.forwarded && !deleted && html`<div class="forwarded"><${Icon} name="forward" size=${14} /> Forwarded</div>`}
      ${m.replyTo && !deleted && html`<button class="quote" data-testid="quote" onClick=${() => (location.hash = `#/chat/${chat.id}?m=${m.replyTo.id}`)}>
        <span class="quote-name">${m.replyTo.senderId === state.me.id ? 'You' : userName(m.replyTo.sender)}</span>
        <span class="quote-text">${m.replyTo.content || m.replyTo.type}</span>
      </button>`}
      ${deleted
        ? html`<div class="content deleted" data-testid="content"><${Icon} name="blocked" size=${16} /> ${mine ? 'You deleted this message' : 'This message was deleted'}</div>`
        : html`${m.file && html`<${FileBlock} m=${m} onView=${onView} />`}
          ${m.content && html`<div class="content" data-testid="content" dir="auto">${linkify(m.content)}</div>`}`}
      <div class="meta">
        ${m.starred && html`<${Icon} name="star" size=${12} label="Starred" />`}
        ${pinned && html`<${Icon} name="pin" size=${12} label="Pinned" />`}
        ${m.editedAt && !deleted && html`<span class="edited" data-testid="edited">edited</span>`}
        <time datetime=${m.createdAt}>${timeOf(m.createdAt)}</time>
        ${mine && !deleted && html`<${Ticks} m=${m} />`}
      </div>
      ${m.failed && html`<button class="link retry" onClick=${() => store.retrySend(chat.id, m)}>Retry</button>`}
      ${!m.pending && html`<button class="msg-menu-btn" aria-label="Message options" aria-haspopup="menu" aria-expanded=${menu} onClick=${() => setMenu(!menu)}><${Icon} name="down" size=${18} /></button>`}
    </div>
    ${(m.reactions || []).length > 0 && html`<div class="reactions" data-testid="reactions">
      ${m.reactions.map((r) => html`<button class=${`reaction ${r.userIds.includes(state.me.id) ? 'mine' : ''}`} onClick=${act(() => store.react(m, r.emoji))}
        aria-label=${`${r.emoji} ${r.count}`}>${r.emoji}${r.count > 1 ? ` ${r.count}` : ''}</button>`)}
    </div>`}
    ${menu && html`<div class=${`menu msg-menu ${mine ? 'right' : ''}`} role="menu" ref=${menuRef}>
      ${!deleted && html`<div class="react-row" role="group" aria-label="React">
        ${QUICK_REACTIONS.map((e) => html`<button role="menuitem" aria-label=${`React ${e}`} onClick=${act(() => store.react(m, e))}>${e}</button>`)}
        <button role="menuitem" class="more-reactions" aria-label="More reactions" aria-haspopup="dialog" onClick=${act(() => onPick(m))}><${Icon} name="plus" size=${20} /></button>
      </div>`}
      ${mine && !deleted && html`<button role="menuitem" onClick=${act(() => onInfo(m))}>Message info</button>`}
      ${!deleted && html`<button role="menuitem" onClick=${act(() => onReply(m))}>Reply</button>`}
      ${!deleted && html`<button role="menuitem" onClick=${act(() => onForward(m))}>Forward</button>`}
      ${!deleted && m.content && html`<button role="menuitem" onClick=${act(() => navigator.clipboard.writeText(m.content))}>Copy</button>`}
      ${!deleted && html`<button role="menuitem" onClick=${act(() => store.star(m))}>${m.starred ? 'Unstar' : 'Star'}</button>`}
      ${!deleted && html`<button role="menuitem" onClick=${act(() => store.togglePin(m))}>${pinned ? 'Unpin' : 'Pin'}</button>`}
      ${canEdit && html`<button role="menuitem" onClick=${act(() => onEdit(m))}>Edit</button>`}
      <button role="menuitem" onClick=${act(() => store.deleteMessage(m, 'me'))}>Delete for me</button>
      ${canDeleteAll && html`<button role="menuitem" class="danger" onClick=${act(() => store.deleteMessage(m, 'everyone'))}>Delete for everyone</button>`}
    </div>`}
  </li>`;
}

function FileBlock({ m, onView }) {
  const f = m.file;
  const url = f.url || m.fileUrl;
  if (f.kind === 'image') {
    return html`<button class="media-btn" onClick=${() => onView(m)} aria-label=${`View image ${f.name}`}>
      <img class="media" src=${f.thumbnailUrl || url} alt=${f.name} width=${f.width || undefined} height=${f.height || undefined} loading="lazy" data-testid="image" />
    </button>`;
  }
  if (f.kind === 'video') return html`<video class="media" src=${url} controls preload="metadata" aria-label=${f.name}></video>`;
  if (f.kind === 'audio') return html`<audio src=${url} controls preload="metadata" aria-label=${f.name}></audio>`;
  return html`<a class="file-card" href=${url} download=${f.name} rel="noopener noreferrer" data-testid="file-card">
    <span class="file-icon"><${Icon} name="file" size=${32} /></span>
    <span class="file-text"><span class="file-name">${f.name}</span><small>${fileSize(f.size)} · ${(f.mimeType || '').split('/').pop()}</small></span>
  </a>`;
}

function Viewer({ message, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    d.showModal();
    return () => d.open && d.close();
  }, []);
  const f = message.file;
  return html`<dialog class="viewer" ref=${ref} onClose=${onClose} aria-label="Image viewer">
    <div class="viewer-bar">
      <span>${f.name}</span>
      <a class="icon-btn" href=${f.url} download=${f.name} aria-label="Download"><${Icon} name="download" /></a>
      <button class="icon-btn" onClick=${onClose} aria-label="Close viewer" autofocus><${Icon} name="close" /></button>
    </div>
    <img src=${f.url} alt=${f.name} />
  </dialog>`;
}

function Composer({ chat, replyTo, clearReply, editing, setEditing }) {
  const [text, setText] = useState('');
  const [upload, setUpload] = useState(null); // { name, progress, error }
  const [dragging, setDragging] = useState(false);
  const input = useRef(null);
  const fileInput = useRef(null);
  // Layout effect: the text must be in place before anything else can type into the box.
  useLayoutEffect(() => {
    if (editing) setText(editing.content);
    input.current && input.current.focus();
  }, [editing, replyTo, chat.id]);

  const grow = () => {
    const el = input.current;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
  };
  useEffect(grow, [text]);

  const submit = async () => {
    const content = text.trim();
    if (!content) return;
    store.stopTyping();
    if (editing) {
      // Leave edit mode at once: whatever is typed next is a new message, even if the edit's
      // answer is still on its way (the other side may already show the edit).
      const target = editing;
      setEditing(null);
      setText('');
      try {
        await store.editMessage(target, content);
      } catch (e) {
        store.toast(e.message);
      }
      return;
    }
    setText('');
    clearReply();
    store.sendMessage(chat.id, { content, replyTo });
  };

  const onKeyDown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      e.preventDefault();
      setEditing(null);
      clearReply();
      if (editing) setText('');
    } else if (e.key === 'ArrowUp' && !text) {
      const b = state.messages.get(chat.id);
      const last = b && [...b.list].reverse().find((m) => m.senderId === state.me.id && !m.deletedAt && m.type === 'text' && !m.pending);
      if (last && Date.now() - Date.parse(last.createdAt) < 15 * 60000) {
        e.preventDefault();
        setEditing(last);
      }
    }
  };

  const sendFiles = async (files) => {
    for (const file of files) {
      setUpload({ name: file.name, progress: 0 });
      try {
        const info = await api.upload(file, (p) => setUpload({ name: file.name, progress: p }));
        const type = { image: 'image', video: 'video', audio: 'audio' }[info.kind] || 'file';
        const caption = text.trim();
        setText('');
        await store.sendMessage(chat.id, { content: caption, file: info, type, replyTo });
        clearReply();
        setUpload(null);
      } catch (e) {
        setUpload({ name: file.name, progress: 0, error: e.status === 404 ? 'Uploads are not available on this server yet.' : e.message });
        return;
      }
    }
  };

  const onPaste = (e) => {
    const files = [...(e.clipboardData ? e.clipboardData.files : [])];
    if (files.length) {
      e.preventDefault();
      sendFiles(files);
    }
  };

  return html`<footer class=${`composer-wrap ${dragging ? 'dragging' : ''}`}
      onDragOver=${(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave=${() => setDragging(false)}
      onDrop=${(e) => { e.preventDefault(); setDragging(false); sendFiles([...e.dataTransfer.files]); }}>
    ${dragging && html`<div class="drop-hint">Drop files to send</div>`}
    ${(replyTo || editing) && html`<div class="compose-context" data-testid="compose-context">
      <div class="quote"><span class="quote-name">${editing ? 'Edit message' : replyTo.senderId === state.me.id ? 'Replying to yourself' : `Replying to ${userName(replyTo.sender)}`}</span>
        <span class="quote-text">${(editing || replyTo).content || (editing || replyTo).type}</span></div>
      <button class="icon-btn" aria-label=${editing ? 'Cancel editing' : 'Cancel reply'} onClick=${() => { setEditing(null); clearReply(); if (editing) setText(''); }}><${Icon} name="close" /></button>
    </div>`}
    ${upload && html`<div class="upload" role="status">
      <span>${upload.error ? `${upload.name}: ${upload.error}` : `Uploading ${upload.name}…`}</span>
      ${!upload.error && html`<progress max="1" value=${upload.progress} aria-label="Upload progress"></progress>`}
      ${upload.error && html`<button class="icon-btn" aria-label="Dismiss" onClick=${() => setUpload(null)}><${Icon} name="close" /></button>`}
    </div>`}
    <div class="composer">
      <button class="icon-btn" aria-label="Attach a file" onClick=${() => fileInput.current.click()}><${Icon} name="attach" /></button>
      <input type="file" ref=${fileInput} hidden multiple onChange=${(e) => { sendFiles([...e.target.files]); e.target.value = ''; }} />
      <textarea ref=${input} rows="1" placeholder="Type a message" aria-label="Type a message" data-testid="composer"
        value=${text} onInput=${(e) => { setText(e.target.value); if (!editing) store.typing(chat.id); }}
        onKeyDown=${onKeyDown} onPaste=${onPaste} onBlur=${() => store.stopTyping()}></textarea>
      <button class="icon-btn send" aria-label=${editing ? 'Save edit' : 'Send'} onClick=${submit} disabled=${!text.trim()}><${Icon} name=${editing ? 'check' : 'send'} /></button>
    </div>
  </footer>`;
}
