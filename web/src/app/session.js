// The logged-in session: tokens (kept in localStorage so a reload stays logged in), the
// principal, and an API client that adds the bearer token and refreshes it once on 401.
// Every open tab shares the tokens: refreshes are serialised across tabs and their result
// shared (src/shared/tokenSync.js), else two tabs would log each other out.
import { reactive, computed } from 'vue'
import { send, ApiError, API } from '@/shared/http.js'
import { createTokenSync } from '@/shared/tokenSync.js'

const KEY = 'eseal.session'

function restore() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || {}
  } catch {
    return {}
  }
}

const saved = restore()

export const session = reactive({
  access: saved.access || null,
  refresh: saved.refresh || null,
  principal: saved.principal || null,
  me: null, // GET /me: principal + phone_masked + certificate_status
  loginPhone: saved.loginPhone || null, // the full phone typed at login, when it was one
})

export const loggedIn = computed(() => Boolean(session.access))
export const role = computed(() => session.principal?.role || null)
export const isPerson = computed(() => role.value === 'person')
export const isEnterprise = computed(() => role.value === 'enterprise')
export const isAgent = computed(() => role.value === 'agent')
/** Enterprise accounts and agents with the 经办人管理 permission may change seals. */
export const canManage = computed(() => isEnterprise.value || (isAgent.value && Boolean(session.principal?.can_manage)))
export const enterpriseName = computed(() => {
  const p = session.principal
  if (!p) return ''
  return p.enterprise_name || (p.role === 'enterprise' ? p.name : '')
})

function persist() {
  const { access, refresh, principal, loginPhone } = session
  if (access) localStorage.setItem(KEY, JSON.stringify({ access, refresh, principal, loginPhone }))
  else localStorage.removeItem(KEY)
}

const lostListeners = new Set()
/** Called when the session cannot be used any more (logged out elsewhere, expired). */
export function onSessionLost(fn) {
  lostListeners.add(fn)
  return () => lostListeners.delete(fn)
}

export function startSession(tokens, { loginPhone = null } = {}) {
  session.access = tokens.access_token
  session.refresh = tokens.refresh_token
  session.principal = tokens.principal
  session.loginPhone = loginPhone
  session.me = null
  persist()
  sync.loggedIn(JSON.parse(localStorage.getItem(KEY))) // other tabs drop their older tokens
}

function clearLocally() {
  session.access = session.refresh = session.principal = session.me = session.loginPhone = null
  persist()
  sessionStorage.clear()
}

export function clearSession() {
  clearLocally()
  sync.cleared() // the other tabs share these tokens: they are logged out too
}

function adopt(state) {
  const principalChanged = state.principal?.id !== session.principal?.id
  session.access = state.access
  session.refresh = state.refresh
  session.principal = state.principal || session.principal
  session.loginPhone = state.loginPhone ?? session.loginPhone
  if (principalChanged) session.me = null
}

const sync = createTokenSync({
  key: KEY,
  exchange: (refreshToken) => send('POST', `${API}/sessions/refresh`, { json: { refresh_token: refreshToken } }),
  onRemote(msg) {
    if (msg.type === 'refreshed' && msg.state?.access) adopt(msg.state)
    else if (msg.type === 'cleared' && session.access) {
      clearLocally()
      for (const fn of lostListeners) fn(new ApiError(401, { code: 'session_ended' }))
    }
  },
})

/** Fresh tokens after `staleAccess` was refused (one refresh across all tabs). */
async function refreshTokens(staleAccess) {
  adopt(await sync.refresh(staleAccess))
  persist()
}

function authorized(opts) {
  const headers = { ...(opts.headers || {}) }
  if (session.access) headers.Authorization = `Bearer ${session.access}`
  return { ...opts, headers }
}

/** An authenticated request; on 401 the tokens are refreshed once, then the session is lost. */
export async function call(method, path, opts = {}) {
  const used = session.access
  try {
    return await send(method, path, authorized(opts))
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401 || !session.access) throw err
    if (session.refresh) {
      try {
        await refreshTokens(used)
      } catch {
        loseSession(err)
        throw err
      }
      try {
        return await send(method, path, authorized(opts))
      } catch (again) {
        if (again instanceof ApiError && again.status === 401) loseSession(again)
        throw again
      }
    }
    loseSession(err)
    throw err
  }
}

function loseSession(err) {
  clearSession()
  for (const fn of lostListeners) fn(err)
}

export const http = {
  get: (path, opts) => call('GET', path, opts),
  post: (path, json, opts = {}) => call('POST', path, json === undefined ? opts : { ...opts, json }),
  put: (path, json, opts = {}) => call('PUT', path, { ...opts, json }),
  patch: (path, json, opts = {}) => call('PATCH', path, { ...opts, json }),
  del: (path, opts) => call('DELETE', path, opts),
}

/** GET /me, cached for the session; `force` reloads (after activating a certificate). */
export async function loadMe(force = false) {
  if (!session.me || force) {
    session.me = await http.get(`${API}/me`)
    if (session.me && session.principal) {
      // /me is the fresher view of the principal (permission edits, names)
      const { phone_masked: _p, certificate_status: _c, ...principal } = session.me
      session.principal = { ...session.principal, ...principal }
      persist()
    }
  }
  return session.me
}

export async function logout() {
  try {
    await http.del(`${API}/sessions/current`)
  } catch {
    // the session may already be over; logging out locally is what matters
  }
  clearSession()
}
