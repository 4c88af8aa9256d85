// Sign in, create an account, forgot and reset password.

import { html, useState } from '/vendor/htm/standalone.module.js';
import * as api from './api.js';
import { start } from './store.js';

function Field({ label, name, type = 'text', value, onInput, autocomplete, error }) {
  const id = `f-${name}`;
  return html`<label class="field" for=${id}>
    <span>${label}</span>
    <input id=${id} name=${name} type=${type} value=${value} autocomplete=${autocomplete}
      aria-invalid=${error ? 'true' : 'false'} onInput=${(e) => onInput(e.target.value)} required />
    ${error && html`<small class="field-error" role="alert">${error}</small>`}
  </label>`;
}

function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState({});
  const set = (k) => (v) => setValues({ ...values, [k]: v });
  const run = (fn) => async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      await fn(values);
    } catch (err) {
      setError(err.message);
      const fe = {};
      for (const d of err.details || []) fe[d.field] = d.message;
      setFieldErrors(fe);
    } finally {
      setBusy(false);
    }
  };
  return { values, set, error, busy, run, fieldErrors, setError };
}

function Shell({ title, children }) {
  return html`<main class="auth">
    <div class="auth-card">
      <div class="brand"><img src="/app/icons/icon.svg" alt="" width="48" height="48" /><span>letschat</span></div>
      <h1>${title}</h1>
      ${children}
    </div>
  </main>`;
}

export function Login() {
  const f = useForm({ login: '', password: '' });
  return html`<${Shell} title="Sign in">
    <form onSubmit=${f.run(async (v) => start(await api.login(v)))} aria-label="Sign in">
      <${Field} label="Username or email" name="login" value=${f.values.login} onInput=${f.set('login')} autocomplete="username" />
      <${Field} label="Password" name="password" type="password" value=${f.values.password} onInput=${f.set('password')} autocomplete="current-password" />
      ${f.error && html`<p class="form-error" role="alert">${f.error}</p>`}
      <button class="primary" type="submit" disabled=${f.busy}>${f.busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    <p class="auth-links"><a href="#/register">Create an account</a> · <a href="#/forgot">Forgot password?</a></p>
  <//>`;
}

export function Register() {
  const f = useForm({ username: '', displayName: '', email: '', password: '' });
  const submit = async (v) => {
    const body = { ...v };
    if (!body.displayName) delete body.displayName;
    await start(await api.register(body));
    location.hash = '#/';
  };
  return html`<${Shell} title="Create your account">
    <form onSubmit=${f.run(submit)} aria-label="Create account">
      <${Field} label="Username" name="username" value=${f.values.username} onInput=${f.set('username')} autocomplete="username" error=${f.fieldErrors.username} />
      <${Field} label="Display name (optional)" name="displayName" value=${f.values.displayName} onInput=${f.set('displayName')} autocomplete="name" error=${f.fieldErrors.displayName} />
      <${Field} label="Email" name="email" type="email" value=${f.values.email} onInput=${f.set('email')} autocomplete="email" error=${f.fieldErrors.email} />
      <${Field} label="Password (8 characters or more)" name="password" type="password" value=${f.values.password} onInput=${f.set('password')} autocomplete="new-password" error=${f.fieldErrors.password} />
      ${f.error && html`<p class="form-error" role="alert">${f.error}</p>`}
      <button class="primary" type="submit" disabled=${f.busy}>${f.busy ? 'Creating…' : 'Create account'}</button>
    </form>
    <p class="auth-links">Already have an account? <a href="#/login">Sign in</a></p>
  <//>`;
}

export function Forgot() {
  const f = useForm({ email: '' });
  const [done, setDone] = useState(false);
  return html`<${Shell} title="Reset your password">
    ${done
      ? html`<p role="status">If an account uses that email, a reset code is on its way. <a href="#/reset-password">Enter the code</a></p>`
      : html`<form onSubmit=${f.run(async (v) => {
          await api.api('POST', '/api/auth/password/forgot', v, { auth: false });
          setDone(true);
        })} aria-label="Forgot password">
          <${Field} label="Email" name="email" type="email" value=${f.values.email} onInput=${f.set('email')} autocomplete="email" />
          ${f.error && html`<p class="form-error" role="alert">${f.error}</p>`}
          <button class="primary" type="submit" disabled=${f.busy}>Send reset code</button>
        </form>`}
    <p class="auth-links"><a href="#/login">Back to sign in</a></p>
  <//>`;
}

export function Reset({ token }) {
  const f = useForm({ token: token || '', newPassword: '' });
  const [done, setDone] = useState(false);
  return html`<${Shell} title="Choose a new password">
    ${done
      ? html`<p role="status">Your password was changed. <a href="#/login">Sign in</a></p>`
      : html`<form onSubmit=${f.run(async (v) => {
          await api.api('POST', '/api/auth/password/reset', v, { auth: false });
          setDone(true);
        })} aria-label="Reset password">
          <${Field} label="Reset code" name="token" value=${f.values.token} onInput=${f.set('token')} autocomplete="one-time-code" />
          <${Field} label="New password" name="newPassword" type="password" value=${f.values.newPassword} onInput=${f.set('newPassword')} autocomplete="new-password" error=${f.fieldErrors.newPassword} />
          ${f.error && html`<p class="form-error" role="alert">${f.error}</p>`}
          <button class="primary" type="submit" disabled=${f.busy}>Set password</button>
        </form>`}
    <p class="auth-links"><a href="#/login">Back to sign in</a></p>
  <//>`;
}
