// Whether the SMS with the person's code arrived (GET /certificate/codes/latest, certs): with a
// provider that reports delivery (Tencent's 回执), a code that did not reach the phone is told
// at once, so the person asks for a new one instead of waiting for a message that never comes.

export const UNDELIVERED = '验证码短信未能送达您的手机，请稍后点击“重新发送”，或确认手机号码可以接收短信'

/** The notice for the latest code's answer, or '' (delivered, not reported yet, unknown). */
export function deliveryNotice(latest) {
  return latest && latest.resend_suggested ? UNDELIVERED : ''
}

/**
 * Ask `fetchLatest()` every `everyMs` until the code is delivered, failed, or `times` asks
 * are spent; `onNotice(text)` gets the notice once the code failed. `stopped()` ends the
 * watch early (a new code was sent, the screen left). Errors end it quietly: it only helps.
 */
export async function watchDelivery(fetchLatest, onNotice, {
  everyMs = 10000, times = 9, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), stopped = () => false,
} = {}) {
  for (let i = 0; i < times; i += 1) {
    await sleep(everyMs)
    if (stopped()) return 'stopped'
    let latest
    try {
      latest = await fetchLatest()
    } catch {
      return 'error'
    }
    if (stopped()) return 'stopped'
    const notice = deliveryNotice(latest)
    if (notice) {
      onNotice(notice)
      return 'failed'
    }
    if (latest && (latest.delivery === 'delivered' || latest.delivery === 'unknown')) return latest.delivery
  }
  return 'pending'
}
