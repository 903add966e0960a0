// 人脸识别 with a provider's H5 page (src/app/faceResume.js): what the app keeps in this tab
// before the browser leaves, which check the return page resumes, and what the route gets back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  FACE_DONE,
  FACE_PENDING,
  MAX_AGE_MS,
  clearFace,
  readPending,
  returnTarget,
  saveDone,
  savePending,
  takeDone,
  verdictProblem,
} from '../src/app/faceResume.js'

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

const NOW = 1_800_000_000_000
const CHECK = '5f0c7d1e-3a9b-4c2d-8e7f-0a1b2c3d4e5f'

function started(storage, extra = {}) {
  savePending(storage, { purpose: 'issue_seal', checkId: CHECK, route: '/seals/new', form: { type: 'official', name: '某某公司公章' }, ...extra }, NOW)
}

test('the return page resumes the saved check, with its route and form', () => {
  const s = new MemoryStorage()
  started(s)
  const { pending, problem } = returnTarget(s, { token: 'BIZTOKEN' }, NOW + 60_000)
  assert.equal(problem, undefined)
  assert.equal(pending.checkId, CHECK)
  assert.equal(pending.purpose, 'issue_seal')
  assert.equal(pending.route, '/seals/new')
  assert.deepEqual(pending.form, { type: 'official', name: '某某公司公章' })
})

test('a redirect naming the check must name the saved one', () => {
  const s = new MemoryStorage()
  started(s)
  assert.ok(returnTarget(s, { face_check_id: CHECK, token: 'X' }, NOW).pending)
  assert.equal(returnTarget(s, { face_check_id: 'another', token: 'X' }, NOW).problem, 'mismatch')
})

test('nothing saved, a stale or a damaged flow: nothing to resume', () => {
  const s = new MemoryStorage()
  assert.equal(returnTarget(s, {}, NOW).problem, 'missing')
  started(s)
  assert.equal(readPending(s, NOW + MAX_AGE_MS + 1), null)
  s.setItem(FACE_PENDING, '{not json')
  assert.equal(readPending(s, NOW), null)
  s.setItem(FACE_PENDING, JSON.stringify({ purpose: 'issue_seal', at: NOW }))
  assert.equal(readPending(s, NOW), null)
})

test('the route to return to stays inside the app', () => {
  const s = new MemoryStorage()
  for (const route of ['https://evil.example/', '//evil.example/x', null, 'seals']) {
    started(s, { route })
    assert.equal(readPending(s, NOW).route, '/home')
  }
  started(s, { route: '/login?redirect=%2Fseals' })
  assert.equal(readPending(s, NOW).route, '/login?redirect=%2Fseals')
})

test('a passed check hands its token to the route of its purpose, once', () => {
  const s = new MemoryStorage()
  started(s)
  saveDone(s, readPending(s, NOW), 'face-token-1')
  assert.equal(s.getItem(FACE_PENDING), null)
  assert.equal(takeDone(s, 'revoke_seal'), null) // another operation's page takes nothing
  assert.deepEqual(takeDone(s, 'issue_seal'), { form: { type: 'official', name: '某某公司公章' }, login: null, token: 'face-token-1' })
  assert.equal(takeDone(s, 'issue_seal'), null)
})

test('given up: the route restores its form without a token', () => {
  const s = new MemoryStorage()
  savePending(s, { purpose: 'login', checkId: CHECK, route: '/login', form: { role: 'person', username: '13800000000' },
    login: { role: 'person', username: '13800000000' } }, NOW)
  saveDone(s, readPending(s, NOW), null)
  const done = takeDone(s, 'login')
  assert.equal(done.token, null)
  assert.deepEqual(done.form, { role: 'person', username: '13800000000' })
  assert.deepEqual(done.login, { role: 'person', username: '13800000000' })
})

test('starting a new flow forgets an old outcome; clearFace forgets everything', () => {
  const s = new MemoryStorage()
  started(s)
  saveDone(s, readPending(s, NOW), 'old-token')
  started(s)
  assert.equal(s.getItem(FACE_DONE), null)
  clearFace(s)
  assert.equal(s.getItem(FACE_PENDING), null)
})

test('only a passed verdict with a token resumes; the rest says what to do', () => {
  assert.equal(verdictProblem({ status: 'passed', face_token: 't' }), null)
  assert.match(verdictProblem({ status: 'failed' }), /未通过/)
  assert.match(verdictProblem({ status: 'pending' }), /尚未完成/)
  assert.match(verdictProblem({ status: 'passed' }), /已使用/) // its token was shown once already
  assert.match(verdictProblem(null), /未通过/)
})
