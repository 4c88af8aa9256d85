// Light, dark or follow the system: stored per browser, applied as `data-theme` on <html>.

const KEY = 'letschat.theme';

export function currentTheme() {
  return localStorage.getItem(KEY) || 'system';
}

export function applyTheme(theme = currentTheme()) {
  localStorage.setItem(KEY, theme);
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', dark ? '#111b21' : '#008069');
}

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme());
