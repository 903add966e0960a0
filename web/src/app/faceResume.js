// 人脸识别 with a provider's H5 page (Tencent Cloud 慧眼): the browser leaves the app, so what
// is needed to resume the operation is kept in sessionStorage (this tab only) before it goes:
// the purpose, the check's id, the route to come back to and the operation's form. The
// provider sends the browser to the return page (/app/face/return, the deployment's
// ESEAL_TENCENT_FACE_REDIRECT_URL; Tencent appends `token=<BizToken>`), which asks identity
// for the verdict (POST /face-checks/{id}/result: fetched server-side, never decided here)
// and hands the face token to the route it came from. Pure functions over a Storage, so the
// unit tests run them without a browser.

export const FACE_PENDING = 'eseal.face.pending'
export const FACE_DONE = 'eseal.face.done'
// a saved flow older than this is stale (identity's face checks expire well before)
export const MAX_AGE_MS = 30 * 60 * 1000

function read(storage, key) {
  try {
    const value = JSON.parse(storage.getItem(key) || 'null')
    return value && typeof value === 'object' ? value : null
  } catch {
    return null
  }
}

function safeRoute(route) {
  return typeof route === 'string' && route.startsWith('/') && !route.startsWith('//') ? route : '/home'
}

/** Before going to the provider's page: what the return page needs to resume. */
export function savePending(storage, { purpose, checkId, route, form = null, login = null }, now = Date.now()) {
  storage.removeItem(FACE_DONE)
  storage.setItem(FACE_PENDING, JSON.stringify({ purpose, checkId, route: safeRoute(route), form, login, at: now }))
}

export function readPending(storage, now = Date.now()) {
  const pending = read(storage, FACE_PENDING)
  if (!pending || typeof pending.checkId !== 'string' || typeof pending.purpose !== 'string') return null
  if (typeof pending.at !== 'number' || now - pending.at > MAX_AGE_MS || now < pending.at - 60_000) return null
  return { ...pending, route: safeRoute(pending.route) }
}

/**
 * Which check the return page is about: the saved one. The redirect URL may name the check
 * (`face_check_id`, when ESEAL_TENCENT_FACE_REDIRECT_URL carries `{face_check_id}`); a named
 * check that is not the saved one is not resumed (another tab's flow, or a forged link).
 * Returns { pending } or { problem }.
 */
export function returnTarget(storage, query, now = Date.now()) {
  const pending = readPending(storage, now)
  if (!pending) return { problem: 'missing' }
  const named = typeof query?.face_check_id === 'string' ? query.face_check_id : null
  if (named && named !== pending.checkId) return { problem: 'mismatch' }
  return { pending }
}

/**
 * The return page's outcome for the route: `token` is the face token of a passed check, or
 * null when the user gave up (the form is restored without continuing).
 */
export function saveDone(storage, pending, token) {
  storage.removeItem(FACE_PENDING)
  storage.setItem(FACE_DONE, JSON.stringify({ purpose: pending.purpose, route: pending.route, form: pending.form,
    login: pending.login, token: token || null }))
}

/**
 * The route, once back: the outcome for `purpose`, taken once (null when there is none). An
 * outcome for another purpose is left alone.
 */
export function takeDone(storage, purpose) {
  const done = read(storage, FACE_DONE)
  if (!done || done.purpose !== purpose) return null
  storage.removeItem(FACE_DONE)
  return { form: done.form ?? null, login: done.login ?? null, token: typeof done.token === 'string' ? done.token : null }
}

export function clearFace(storage) {
  storage.removeItem(FACE_PENDING)
  storage.removeItem(FACE_DONE)
}

/** What the return page shows for a /result answer (or null: passed). */
export function verdictProblem(result) {
  if (result?.status === 'passed' && result.face_token) return null
  if (result?.status === 'pending') return '人脸识别尚未完成，请重新识别'
  if (result?.status === 'passed') return '该人脸识别结果已使用，请重新识别'
  return '人脸识别未通过，请确认是本人操作，正对屏幕、保持光线充足后重新识别'
}
