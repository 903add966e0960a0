// Images behind the bearer token (seals, signatures): fetched once, shown from blob URLs.
// A URL's image never changes (a seal's image is fixed when it is made), so they are cached
// for the session; a new signature gets a new URL query (see Signature.vue).
import { http } from './session.js'

const cache = new Map()

export function imageUrl(src) {
  if (!cache.has(src)) {
    const p = http.get(src, { as: 'blob' }).then((blob) => URL.createObjectURL(blob))
    p.catch(() => cache.delete(src))
    cache.set(src, p)
  }
  return cache.get(src)
}

export function forgetImages() {
  for (const p of cache.values()) p.then(URL.revokeObjectURL, () => {})
  cache.clear()
}

/** Drop one URL's image (it changed: a signature deleted and set again). */
export function forgetImage(src) {
  const p = cache.get(src)
  if (p) p.then(URL.revokeObjectURL, () => {})
  cache.delete(src)
}
