// 人脸识别: sensitive operations need a face token. The app starts a face check; then
// * the sandbox provider: the simulated capture step decides its verdict through
//   /sandbox/face-checks/{id}/pass|fail (FaceCheck.vue, mounted once in App.vue, shows it);
// * a real provider (Tencent Cloud 慧眼 H5: the start answer carries its page's `url`): the
//   app saves what it needs to resume (faceResume.js) and goes to that page; the provider
//   sends the browser back to /app/face/return (FaceReturn.vue), which gets the verdict and
//   the token from identity (fetched server-side) and returns to the route. The route then
//   calls `resumeFace(purpose)` when mounted: it restores its form and, with a token, runs
//   the operation again, whose `verifyFace` now answers that token at once.
// Callers just `await verifyFace({ purpose, form })` (`form`: the operation's inputs to
// restore, never passwords).
import { reactive } from 'vue'
import { send, api } from '@/shared/http.js'
import { http } from './session.js'
import { savePending, takeDone } from './faceResume.js'

export const PURPOSE_TEXT = {
  login: '人脸识别登录',
  add_agent: '添加经办人',
  issue_seal: '生成印章',
  revoke_seal: '作废印章',
  approve_stamp: '用印审批',
  reset_certificate: '重置证书密码',
  enterprise_verification: '法定代表人人脸核验',
}

export const faceState = reactive({
  show: false,
  purpose: null,
  checkId: null,
  stage: 'idle', // idle | starting | ready | verifying | failed | redirecting
  error: '',
})

let pending = null
let request = null
// a face token brought back from the provider's page, for the next verifyFace of its purpose
let resumed = null

export class FaceCancelled extends Error {
  constructor() {
    super('人脸识别已取消')
    this.name = 'FaceCancelled'
  }
}

/** POST /face-checks: for the logged-in caller, or anonymously (`login`: role and username). */
export function startCheck({ purpose, login = null }) {
  const body = login ? { purpose: 'login', ...login } : { purpose }
  return login ? send('POST', api`face-checks`, { json: body }) : http.post(api`face-checks`, body)
}

/** The route to come back to: the current one, inside the app (/app/…). */
function currentRoute() {
  const path = window.location.pathname.replace(/^\/app(?=\/|$)/, '') || '/home'
  return path + window.location.search
}

/** A provider's page: save the flow in this tab and go there (the browser leaves the app). */
export function goToProvider(check, { purpose, login = null, form = null, route }) {
  savePending(window.sessionStorage, { purpose, checkId: check.face_check_id, route, form, login })
  window.location.assign(check.url)
}

async function start() {
  faceState.stage = 'starting'
  faceState.error = ''
  const check = await startCheck(request)
  faceState.checkId = check.face_check_id
  if (check.url) {
    faceState.stage = 'redirecting'
    goToProvider(check, { ...request, route: currentRoute() })
    return // the promise stays pending while the browser leaves
  }
  faceState.stage = 'ready'
}

/**
 * Back from the provider's page (call when the route is mounted): `{ form, login, token }`
 * saved for `purpose` (token null: failed or given up), or null. A token is then what the
 * next `verifyFace` of that purpose answers.
 */
export function resumeFace(purpose) {
  const done = takeDone(window.sessionStorage, purpose)
  if (done?.token) resumed = { purpose, token: done.token }
  return done
}

/** Resolves with a face token for `purpose`; rejects with FaceCancelled or an ApiError. */
export function verifyFace({ purpose, login = null, form = null }) {
  const wanted = login ? 'login' : purpose
  if (resumed && resumed.purpose === wanted) {
    const { token } = resumed
    resumed = null
    return Promise.resolve(token)
  }
  request = { purpose: wanted, login, form }
  faceState.purpose = request.purpose
  faceState.show = true
  faceState.checkId = null
  return new Promise((resolve, reject) => {
    pending = { resolve, reject }
    start().catch((err) => finish(err))
  })
}

function finish(err, token) {
  const p = pending
  pending = null
  faceState.show = false
  faceState.stage = 'idle'
  if (!p) return
  if (err) p.reject(err)
  else p.resolve(token)
}

/** The simulated capture: the sandbox records a passing verdict and hands out the token. */
export async function simulatePass() {
  faceState.stage = 'verifying'
  try {
    const verdict = await send('POST', api`sandbox/face-checks/${faceState.checkId}/pass`)
    finish(null, verdict.face_token)
  } catch (err) {
    finish(err)
  }
}

export async function simulateFail() {
  faceState.stage = 'verifying'
  try {
    await send('POST', api`sandbox/face-checks/${faceState.checkId}/fail`)
    faceState.stage = 'failed'
    faceState.error = '人脸识别未通过，请正对屏幕、保持光线充足后重试'
  } catch (err) {
    finish(err)
  }
}

export function retry() {
  start().catch((err) => finish(err))
}

export function cancel() {
  finish(new FaceCancelled())
}
