// The REST client: bearer tokens, silent refresh, and errors in the contract's shape.
//
// Token storage trade-off: the access token (short-lived) lives only in memory; the refresh
// token lives in localStorage so a reload or a new tab stays signed in. A script injected into
// the page could read it, which is why the page has a strict CSP and never renders user text
// as HTML; refresh tokens rotate on every use and a replayed one revokes its whole session.

const REFRESH_KEY = 'letschat.refreshToken';

let accessToken = null;
let accessExpiry = 0;
let refreshing = null;
let refreshTimer = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `Request failed (${status})`);
    this.status = status;
    this.code = (body && body.code) || 'network';
    this.details = (body && body.details) || [];
  }
}

/** Called with `null` when the session ends (logout, revoked, refresh failed). */
export function onSessionEnd(fn) {
  listeners.add(fn);
}

// Signing out in one tab signs out the others.
addEventListener('storage', (e) => {
  if (e.key === REFRESH_KEY && !e.newValue && accessToken) endSession();
});

export function hasRefreshToken() {
  return !!localStorage.getItem(REFRESH_KEY);
}

function decodeExpiry(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp * 1000;
  } catch {
    return Date.now() + 60_000;
  }
}

/** Stores a fresh pair and schedules the next silent refresh a minute before expiry. */
export function setTokens({ accessToken: access, refreshToken }) {
  accessToken = access;
  accessExpiry = decodeExpiry(access);
  if (refreshToken) localStorage.setItem(REFRESH_KEY, refreshToken);
  clearTimeout(refreshTimer);
  const delay = Math.max(5_000, accessExpiry - Date.now() - 60_000);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), delay);
}

export function clearTokens() {
  accessToken = null;
  accessExpiry = 0;
  clearTimeout(refreshTimer);
  localStorage.removeItem(REFRESH_KEY);
}

function endSession() {
  clearTokens();
  for (const fn of listeners) fn(null);
}

/** Rotates the refresh token; concurrent callers share one request. Tabs share the refresh
 * token, so rotations are serialised across tabs with a Web Lock: each uses the newest token, and
 * two tabs never present the same one (a replay would revoke the session). */
export function refresh() {
  if (refreshing) return refreshing;
  if (!localStorage.getItem(REFRESH_KEY)) return Promise.reject(new ApiError(401, { code: 'unauthorized' }));
  const locked = (fn) => (navigator.locks ? navigator.locks.request('letschat-refresh', fn) : fn());
  refreshing = locked(async () => {
    const token = localStorage.getItem(REFRESH_KEY);
    if (!token) throw new ApiError(401, { code: 'unauthorized' });
    try {
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: token }),
      });
      const body = await res.json().catch(() => null);
      if (res.status === 401) {
        endSession();
        throw new ApiError(401, body);
      }
      if (!res.ok) throw new ApiError(res.status, body);
      setTokens(body);
      return body.accessToken;
    } finally {
      refreshing = null;
    }
  });
  return refreshing;
}

/** A valid access token, refreshed first when it is about to expire. */
export async function freshToken() {
  if (!accessToken || Date.now() > accessExpiry - 30_000) return refresh();
  return accessToken;
}

/** One JSON request. Retries once after a refresh on `token_expired`. */
export async function api(method, path, body, { auth = true, retried = false } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) headers.authorization = `Bearer ${await freshToken()}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: 'You are offline or the server is unreachable.', code: 'network' });
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401 && auth && !retried) {
    if (data && data.code === 'token_expired') {
      await refresh();
      return api(method, path, body, { auth, retried: true });
    }
    endSession();
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body = {}) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** Multipart upload (field `file`) with progress (`onProgress(0..1)`); resolves to the answer:
 * the FileInfo for `/api/upload`, the Chat for a group's avatar. */
export async function upload(file, onProgress, path = '/api/upload') {
  const token = await freshToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { error: 'Upload failed: network error', code: 'network' }));
    const form = new FormData();
    form.append('file', file);
    xhr.send(form);
  });
}

export async function login(fields) {
  const data = await api('POST', '/api/auth/login', fields, { auth: false });
  setTokens(data);
  return data.user;
}

export async function register(fields) {
  const data = await api('POST', '/api/auth/register', fields, { auth: false });
  setTokens(data);
  return data.user;
}

export async function logout() {
  const refreshToken = localStorage.getItem(REFRESH_KEY);
  try {
    await api('POST', '/api/auth/logout', { refreshToken });
  } finally {
    endSession();
  }
}
