// Reactions: the quick row of the message menu, and a fuller picker (a grid of buttons in a modal
// dialog: arrow keys, Home and End move, Enter or Space picks, Escape closes).

import { html, useEffect, useRef } from '/vendor/htm/standalone.module.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export const MORE_REACTIONS = [
  '😀', '😁', '🤣', '😊', '😍', '🥰', '😘', '😎',
  '🤔', '🙄', '😴', '😭', '😡', '🤯', '🥳', '😇',
  '👏', '🙌', '👌', '✌️', '🤞', '💪', '👀', '🔥',
  '🎉', '✨', '💯', '✅', '❌', '💔', '🌹', '☕',
];
const COLUMNS = 8;

export function ReactionPicker({ current, onPick, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    d.showModal();
    const selected = d.querySelector('[aria-pressed="true"]') || d.querySelector('.emoji-grid button');
    selected.focus();
    return () => d.open && d.close();
  }, []);
  const all = [...QUICK_REACTIONS, ...MORE_REACTIONS.filter((e) => !QUICK_REACTIONS.includes(e))];
  const onKeyDown = (e) => {
    const buttons = [...ref.current.querySelectorAll('.emoji-grid button')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    let next = null;
    if (e.key in moves) next = i + moves[e.key];
    else if (e.key === 'Home') next = e.ctrlKey ? 0 : i - (i % COLUMNS);
    else if (e.key === 'End') next = e.ctrlKey ? buttons.length - 1 : Math.min(buttons.length - 1, i - (i % COLUMNS) + COLUMNS - 1);
    if (next === null) return;
    e.preventDefault();
    if (next < 0 || next >= buttons.length) return;
    buttons[i].tabIndex = -1;
    buttons[next].tabIndex = 0;
    buttons[next].focus();
  };
  return html`<dialog class="dialog emoji-picker" ref=${ref} onClose=${onClose} aria-label="Choose a reaction" data-testid="reaction-picker">
    <h2>React</h2>
    <div class="emoji-grid" role="group" aria-label="Emoji" onKeyDown=${onKeyDown}>
      ${all.map((e, i) => html`<button type="button" tabindex=${(current ? e === current : i === 0) ? 0 : -1}
        aria-label=${`React ${e}`} aria-pressed=${e === current} onClick=${() => onPick(e)}>${e}</button>`)}
    </div>
    <div class="dialog-actions"><button class="small" onClick=${onClose}>Cancel</button></div>
  </dialog>`;
}
