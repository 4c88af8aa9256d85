// The service worker: keeps the application shell available offline. The API and Socket.IO are
// never cached; the shell is served network-first so a new release shows up on the next load.

const CACHE = 'letschat-shell-v2';
const SHELL = [
  '/',
  '/app/app.js',
  '/app/api.js',
  '/app/store.js',
  '/app/state.js',
  '/app/messages.js',
  '/app/live.js',
  '/app/auth.js',
  '/app/chat.js',
  '/app/panels.js',
  '/app/util.js',
  '/app/theme.js',
  '/app/icons.js',
  '/app/chatsearch.js',
  '/app/groupinfo.js',
  '/app/msginfo.js',
  '/app/reactions.js',
  '/app/styles.css',
  '/app/icons/icon.svg',
  '/manifest.webmanifest',
  '/vendor/htm/standalone.module.js',
  '/vendor/socket.io-client/socket.io.esm.min.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (!(url.pathname === '/' || url.pathname.startsWith('/app/') || url.pathname.startsWith('/vendor/') || url.pathname === '/manifest.webmanifest')) return;
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname === '/' ? '/' : event.request, copy));
        }
        return res;
      })
      .catch(() => caches.match(url.pathname === '/' ? '/' : event.request).then((hit) => hit || Response.error())),
  );
});
