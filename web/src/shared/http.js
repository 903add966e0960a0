// The one HTTP helper of the three pages: JSON in, JSON (or a Blob) out, and every
// application/problem+json answer turned into an ApiError carrying its stable `code`.

export const API = '/api/v1'

function randomHex(bytes) {
  const data = new Uint8Array(bytes)
  if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(data)
  else for (let i = 0; i < bytes; i++) data[i] = Math.floor(Math.random() * 256)
  if (data.every((b) => b === 0)) data[bytes - 1] = 1 // all zeros is not a valid id
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * A new W3C `traceparent` for one request: the page starts the request's trace, so the
 * gateway, the services, the events and their consumers all continue it (docs/OPERATIONS.md,
 * "Tracing"). Flags 00: the platform decides whether the trace is kept (its sample ratio).
 */
export function newTraceparent() {
  return `00-${randomHex(16)}-${randomHex(8)}-00`
}

export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`)
    this.name = 'ApiError'
    this.status = status
    this.code = problem.code || (status === 0 ? 'network_error' : `http_${status}`)
    this.detail = problem.detail || ''
    this.errors = Array.isArray(problem.errors) ? problem.errors : []
    this.problem = problem
  }
}

async function problemOf(res) {
  const type = res.headers.get('Content-Type') || ''
  if (type.includes('json')) {
    try {
      return await res.json()
    } catch {
      return {}
    }
  }
  const text = await res.text().catch(() => '')
  return { detail: text.slice(0, 200) }
}

/**
 * Send one request. `json` is sent as JSON, `form` (FormData/URLSearchParams) as is.
 * `as`: 'json' (default), 'blob', 'text' or 'response' (the raw Response, for streams).
 */
export async function send(method, path, { json, form, headers = {}, as = 'json', signal } = {}) {
  const init = { method, headers: { traceparent: newTraceparent(), ...headers }, signal, credentials: 'same-origin' }
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(json)
  } else if (form !== undefined) {
    init.body = form
  }
  let res
  try {
    res = await fetch(path.startsWith('http') || path.startsWith('/') ? path : `${API}/${path}`, init)
  } catch (err) {
    if (err?.name === 'AbortError') throw err
    throw new ApiError(0, { detail: String(err?.message || err) })
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res))
  if (as === 'response') return res
  if (res.status === 204) return null
  if (as === 'blob') return res.blob()
  if (as === 'text') return res.text()
  const type = res.headers.get('Content-Type') || ''
  return type.includes('json') ? res.json() : null
}

/** Path helper: api`seals/${id}/grants` with every interpolation URI-encoded. */
export function api(strings, ...values) {
  return API + '/' + strings.reduce((acc, s, i) => acc + s + (i < values.length ? encodeURIComponent(values[i]) : ''), '')
}

/**
 * The file name a Content-Disposition header gives: RFC 5987 `filename*=UTF-8''…` first (a
 * Chinese name), then plain `filename="…"`, else `fallback`.
 */
export function filenameOf(disposition, fallback) {
  const value = disposition || ''
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(value)
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim())
    } catch {
      // a malformed escape: use the plain name
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/i.exec(value) || /filename\s*=\s*([^;]+)/i.exec(value)
  return plain ? plain[1].trim() : fallback
}

/** Hand a Blob to the browser as a download named `name`. */
export function saveBlob(blob, name) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}
