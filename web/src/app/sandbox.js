// Is the platform running its sandbox adapters (development and test only)? The sandbox
// endpoints answer 404 in production; the app then hides its testing hints.
import { send, api } from '@/shared/http.js'

let probe = null

export function isSandbox() {
  probe ||= send('GET', api`sandbox/sms` + '?phone=13800000000').then(
    () => true,
    (err) => err.status !== 404 && err.status !== 0,
  )
  return probe
}
