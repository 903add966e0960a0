// 消息提醒: the unread count, kept live by the Server-Sent Events stream.
// EventSource cannot send an Authorization header, so the stream is read with fetch().
import { reactive } from 'vue'
import { API } from '@/shared/http.js'
import { call, session } from './session.js'
import { readEvents } from '@/shared/sse.js'

export const inbox = reactive({ unread: 0, connected: false, latest: null })

const listeners = new Set()
/** fn(message) for every message that arrives while the app is open. */
export function onMessage(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

let controller = null
let lastEventId = null

export async function refreshUnread() {
  const page = await call('GET', `${API}/messages?unread_only=true&limit=1`)
  inbox.unread = page.unread_count ?? page.items.length
}

function dispatch(evt) {
  if (evt.id) lastEventId = evt.id
  if (!evt.data) return
  const data = JSON.parse(evt.data)
  if (evt.event === 'ready') {
    inbox.unread = data.unread_count ?? inbox.unread
    inbox.connected = true
  } else if (evt.event === 'message') {
    if (!data.read) inbox.unread += 1
    inbox.latest = data
    for (const fn of listeners) fn(data)
  }
}

async function follow(signal) {
  let retry = 3000
  while (!signal.aborted && session.access) {
    try {
      const headers = { Accept: 'text/event-stream' }
      if (lastEventId) headers['Last-Event-ID'] = lastEventId
      const res = await call('GET', `${API}/messages/stream`, { as: 'response', headers, signal })
      let revoked = false
      for await (const evt of readEvents(res.body)) {
        if (evt.retry) retry = evt.retry
        if (evt.event === 'token_revoked') revoked = true // logged out (maybe in another tab)
        dispatch(evt)
      }
      if (revoked) {
        // no waiting: the next call finds the session over (or another tab's fresh tokens)
        inbox.connected = false
        continue
      }
    } catch (err) {
      if (signal.aborted) return
      if (err?.status === 401 || err?.status === 403) return // the session is over
    }
    inbox.connected = false
    await new Promise((resolve) => setTimeout(resolve, retry))
  }
}

export function startInbox() {
  if (controller || !session.access) return
  controller = new AbortController()
  follow(controller.signal)
}

export function stopInbox() {
  controller?.abort()
  controller = null
  lastEventId = null
  inbox.unread = 0
  inbox.connected = false
}
