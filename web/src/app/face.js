// 人脸识别: sensitive operations need a face token. The platform's face provider here is the
// sandbox: the app starts a face check, then the simulated capture step decides its verdict
// through /sandbox/face-checks/{id}/pass|fail. FaceCheck.vue (mounted once in App.vue)
// shows the step; callers just `await verifyFace({ purpose })`.
import { reactive } from 'vue'
import { send, api } from '@/shared/http.js'
import { http } from './session.js'

export const PURPOSE_TEXT = {
  login: '人脸识别登录',
  add_agent: '添加经办人',
  issue_seal: '生成印章',
  revoke_seal: '作废印章',
  reset_certificate: '重置证书密码',
}

export const faceState = reactive({
  show: false,
  purpose: null,
  checkId: null,
  stage: 'idle', // idle | starting | ready | verifying | failed
  error: '',
})

let pending = null
let request = null

export class FaceCancelled extends Error {
  constructor() {
    super('人脸识别已取消')
    this.name = 'FaceCancelled'
  }
}

async function start() {
  faceState.stage = 'starting'
  faceState.error = ''
  const { purpose, login } = request
  const body = login ? { purpose: 'login', ...login } : { purpose }
  const check = login ? await send('POST', api`face-checks`, { json: body }) : await http.post(api`face-checks`, body)
  faceState.checkId = check.face_check_id
  faceState.stage = 'ready'
}

/** Resolves with a face token for `purpose`; rejects with FaceCancelled or an ApiError. */
export function verifyFace({ purpose, login = null }) {
  request = { purpose: login ? 'login' : purpose, login }
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
