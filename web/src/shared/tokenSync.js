// One refresh at a time across every open tab, and its result shared with all of them.
//
// Refresh tokens rotate on use and identity treats a second use of one as theft (every
// session of the person ends). Two tabs share the tokens (localStorage): if both refreshed
// with the same refresh token, the second would log both out. So a refresh runs under an
// exclusive Web Lock (navigator.locks) held by one tab at a time; inside it the tab first
// re-reads the stored tokens, and if another tab already replaced the access token that
// failed, it adopts them instead of refreshing. The new tokens are stored before the lock is
// released and announced on a BroadcastChannel, so the other tabs switch at once.
//
// Fallbacks: without Web Locks (old browsers, pages not served from a secure context) a
// lease kept in localStorage serialises the tabs (best effort); without BroadcastChannel
// the `storage` event tells the other tabs.

export const LOCK_NAME = 'eseal.session.refresh'
export const CHANNEL_NAME = 'eseal.session'
const LEASE_MS = 10000 // a tab that died holding the lease blocks the others at most this long

const defaultSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function parse(text) {
  try {
    return text ? JSON.parse(text) : null
  } catch {
    return null
  }
}

/** The tab-to-tab channel: BroadcastChannel, else `storage` events of `key`, else nothing. */
export function openChannel(key, { scope = globalThis } = {}) {
  if (typeof scope.BroadcastChannel === 'function') {
    const bc = new scope.BroadcastChannel(CHANNEL_NAME)
    return {
      post: (msg) => bc.postMessage(msg),
      listen: (fn) => {
        bc.onmessage = (e) => fn(e.data)
      },
      close: () => bc.close(),
    }
  }
  if (typeof scope.addEventListener === 'function') {
    let handler = null
    return {
      post: () => {}, // the write to localStorage itself is the message
      listen: (fn) => {
        handler = (e) => {
          if (e.key !== key) return
          const state = parse(e.newValue)
          fn(state?.access ? { type: 'refreshed', state } : { type: 'cleared' })
        }
        scope.addEventListener('storage', handler)
      },
      close: () => handler && scope.removeEventListener('storage', handler),
    }
  }
  return { post: () => {}, listen: () => {}, close: () => {} }
}

/**
 * @param {object} o
 * @param {string} o.key              localStorage key of the session ({access, refresh, ...})
 * @param {(refreshToken: string) => Promise<object>} o.exchange  POST /sessions/refresh
 * @param {(msg: {type: string, state?: object}) => void} o.onRemote  another tab changed them
 */
export function createTokenSync({
  key, exchange, onRemote = () => {}, storage = globalThis.localStorage,
  locks = globalThis.navigator?.locks, channel = openChannel(key), sleep = defaultSleep,
  now = Date.now, tabId = Math.random().toString(36).slice(2),
}) {
  const read = () => parse(storage.getItem(key))
  channel.listen((msg) => {
    if (msg && (msg.type === 'refreshed' || msg.type === 'cleared')) onRemote(msg)
  })

  async function refreshUnderLock(staleAccess) {
    const stored = read()
    if (!stored?.refresh) throw new Error('the session ended') // logged out in another tab
    if (stored.access && stored.access !== staleAccess) return stored // another tab did it
    const body = await exchange(stored.refresh)
    const next = {
      ...stored,
      access: body.access_token,
      refresh: body.refresh_token,
      principal: body.principal || stored.principal,
    }
    storage.setItem(key, JSON.stringify(next)) // before the lock goes: the next tab reads it
    channel.post({ type: 'refreshed', state: next })
    return next
  }

  async function withLease(fn) {
    const leaseKey = `${LOCK_NAME}.lease`
    const giveUp = now() + LEASE_MS
    for (;;) {
      const lease = parse(storage.getItem(leaseKey))
      if (!lease || lease.until < now() || lease.owner === tabId) {
        storage.setItem(leaseKey, JSON.stringify({ owner: tabId, until: now() + LEASE_MS }))
        await sleep(30) // a racing tab's write lands meanwhile: the last writer owns it
        if (parse(storage.getItem(leaseKey))?.owner === tabId) break
      }
      if (now() > giveUp) break // the holder died: go on, refreshUnderLock re-reads anyway
      await sleep(50 + Math.random() * 50)
    }
    try {
      return await fn()
    } finally {
      if (parse(storage.getItem(leaseKey))?.owner === tabId) storage.removeItem(leaseKey)
    }
  }

  let inflight = null // one refresh per tab at a time; callers in this tab share it

  return {
    /**
     * Fresh tokens after `staleAccess` was refused: the ones another tab already got, or
     * new ones from one refresh. Resolves to the stored session state.
     */
    refresh(staleAccess) {
      if (!inflight) {
        const run = () => refreshUnderLock(staleAccess)
        const locked = typeof locks?.request === 'function'
          ? locks.request(LOCK_NAME, { mode: 'exclusive' }, run)
          : withLease(run)
        inflight = Promise.resolve(locked).finally(() => {
          inflight = null
        })
      }
      return inflight
    },
    /** Tell the other tabs about a new login (they share its tokens from now on). */
    loggedIn(state) {
      if (state?.access) channel.post({ type: 'refreshed', state })
    },
    /** Tell the other tabs this one logged out (or lost the session). */
    cleared() {
      channel.post({ type: 'cleared' })
    },
    close() {
      channel.close()
    },
  }
}
