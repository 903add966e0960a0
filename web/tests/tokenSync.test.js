// Two tabs refreshing at once must not log each other out (src/shared/tokenSync.js):
// one refresh across tabs (Web Locks, or the localStorage lease without them), its result
// shared, against a fake identity that — like the real one — ends every session when a
// refresh token is used twice.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTokenSync, openChannel, LOCK_NAME } from '../src/shared/tokenSync.js'

const KEY = 'eseal.session'

class MemoryStorage {
  constructor() {
    this.map = new Map()
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null
  }
  setItem(k, v) {
    this.map.set(k, String(v))
  }
  removeItem(k) {
    this.map.delete(k)
  }
}

/** navigator.locks, shared by the tabs of one browser: exclusive, first come first served. */
class Locks {
  constructor() {
    this.tails = new Map()
    this.requests = []
  }
  request(name, options, cb) {
    this.requests.push(name)
    const before = this.tails.get(name) || Promise.resolve()
    const run = before.then(() => cb())
    this.tails.set(name, run.catch(() => {}))
    return run
  }
}

/** A BroadcastChannel stand-in: what one tab posts, every other tab receives. */
function bus() {
  const tabs = []
  return () => {
    const me = { fn: null }
    tabs.push(me)
    return {
      post: (msg) => tabs.filter((t) => t !== me && t.fn).forEach((t) => queueMicrotask(() => t.fn(msg))),
      listen: (fn) => {
        me.fn = fn
      },
      close: () => {},
    }
  }
}

/** identity's rule: refresh tokens rotate; a used one presented again ends the session. */
class FakeIdentity {
  constructor() {
    this.n = 0
    this.live = 'r0'
    this.used = new Set()
    this.ended = false
    this.calls = 0
  }
  async exchange(refreshToken) {
    this.calls += 1
    await new Promise((r) => setTimeout(r, 20)) // the network: both tabs are in flight
    if (this.used.has(refreshToken)) this.ended = true // reuse detection
    if (this.ended || refreshToken !== this.live) {
      const err = new Error('invalid_refresh_token')
      err.status = 401
      throw err
    }
    this.used.add(refreshToken)
    this.n += 1
    this.live = `r${this.n}`
    return { access_token: `a${this.n}`, refresh_token: this.live, principal: { id: 'p' } }
  }
}

function browser({ locks = new Locks() } = {}) {
  const storage = new MemoryStorage()
  storage.setItem(KEY, JSON.stringify({ access: 'a0', refresh: 'r0', principal: { id: 'p' } }))
  const identity = new FakeIdentity()
  const channel = bus()
  const tab = (name) => {
    const heard = []
    const sync = createTokenSync({
      key: KEY, storage, locks, channel: channel(), tabId: name,
      exchange: (r) => identity.exchange(r), onRemote: (msg) => heard.push(msg),
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
    })
    return { sync, heard }
  }
  return { storage, identity, locks, tab }
}

test('two tabs refreshing the same expired token at once: one refresh, both get its tokens', async () => {
  const b = browser()
  const one = b.tab('one')
  const two = b.tab('two')
  const [s1, s2] = await Promise.all([one.sync.refresh('a0'), two.sync.refresh('a0')])
  assert.equal(b.identity.calls, 1)
  assert.equal(b.identity.ended, false, 'no refresh token was used twice')
  assert.deepEqual([s1.access, s1.refresh], ['a1', 'r1'])
  assert.deepEqual([s2.access, s2.refresh], ['a1', 'r1'])
  assert.equal(JSON.parse(b.storage.getItem(KEY)).refresh, 'r1')
  assert.deepEqual(b.locks.requests, [LOCK_NAME, LOCK_NAME])
  await new Promise((r) => setTimeout(r, 0))
  assert.equal(two.heard[0]?.type, 'refreshed', 'the other tab is told at once')
  assert.equal(two.heard[0].state.access, 'a1')
  // later, the next expiry: still one refresh each time, never a reuse
  await Promise.all([one.sync.refresh('a1'), two.sync.refresh('a1'), two.sync.refresh('a1')])
  assert.equal(b.identity.calls, 2)
  assert.equal(b.identity.ended, false)
})

test('without Web Locks the localStorage lease serialises the tabs', async () => {
  const b = browser({ locks: undefined })
  const tabs = ['one', 'two', 'three'].map((n) => b.tab(n))
  const states = await Promise.all(tabs.map((t) => t.sync.refresh('a0')))
  assert.equal(b.identity.calls, 1)
  assert.equal(b.identity.ended, false)
  assert.ok(states.every((s) => s.refresh === 'r1'))
  assert.equal(b.storage.getItem(`${LOCK_NAME}.lease`), null, 'the lease is given back')
})

test('a lease left by a tab that died is taken over after it lapses', async () => {
  const b = browser({ locks: undefined })
  let clock = 1000
  b.storage.setItem(`${LOCK_NAME}.lease`, JSON.stringify({ owner: 'dead', until: clock + 50 }))
  const sync = createTokenSync({
    key: KEY, storage: b.storage, locks: undefined, channel: { post() {}, listen() {}, close() {} },
    exchange: (r) => b.identity.exchange(r), tabId: 'alive', now: () => clock,
    sleep: async (ms) => {
      clock += ms
    },
  })
  assert.equal((await sync.refresh('a0')).access, 'a1')
})

test('one tab refreshing twice in a row shares its pending refresh', async () => {
  const b = browser()
  const one = b.tab('one')
  await Promise.all([one.sync.refresh('a0'), one.sync.refresh('a0')])
  assert.equal(b.identity.calls, 1)
})

test('logged out in another tab: the refresh fails instead of reviving the session', async () => {
  const b = browser()
  const one = b.tab('one')
  b.storage.removeItem(KEY)
  await assert.rejects(one.sync.refresh('a0'))
  assert.equal(b.identity.calls, 0)
})

test('openChannel uses BroadcastChannel between two tabs of the page', async () => {
  const a = openChannel(KEY)
  const b = openChannel(KEY)
  try {
    const got = new Promise((resolve) => b.listen(resolve))
    a.post({ type: 'refreshed', state: { access: 'x' } })
    assert.deepEqual(await got, { type: 'refreshed', state: { access: 'x' } })
  } finally {
    a.close()
    b.close()
  }
})

test('openChannel without BroadcastChannel listens to storage events of the session key', () => {
  const listeners = []
  const scope = { addEventListener: (type, fn) => listeners.push([type, fn]), removeEventListener() {} }
  const channel = openChannel(KEY, { scope })
  const heard = []
  channel.listen((msg) => heard.push(msg))
  const [[type, fire]] = listeners
  assert.equal(type, 'storage')
  fire({ key: 'other', newValue: '{}' })
  fire({ key: KEY, newValue: JSON.stringify({ access: 'a9', refresh: 'r9' }) })
  fire({ key: KEY, newValue: null })
  assert.deepEqual(heard.map((m) => m.type), ['refreshed', 'cleared'])
  assert.equal(heard[0].state.access, 'a9')
})
