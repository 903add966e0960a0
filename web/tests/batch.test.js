// Unit tests of the batch screen's logic (src/app/batch.js) and of the way back from 个人签名
// to a stamping screen (src/app/signatureReturn.js).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  batchEnterprises,
  batchLines,
  batchNeedsSeal,
  batchPreselect,
  batchReady,
  batchStampBody,
  batchSummary,
  documentReady,
  documentScan,
  errorText,
  isBatchPayload,
  pendingDocuments,
  sealsAt,
} from '../src/app/batch.js'
import { safeReturn, signatureMissing, signatureReady } from '../src/app/signatureReturn.js'

const A = { enterprise_id: 'e1', enterprise_name: '甲公司' }
const B = { enterprise_id: 'e2', enterprise_name: '乙公司' }
const A_CONTRACT = { seal_id: 's1', name: '甲公司合同专用章', type: 'contract', ...A }
const A_OFFICIAL = { seal_id: 's2', name: '甲公司公章', type: 'official', ...A }
const B_CONTRACT = { seal_id: 's3', name: '乙公司合同专用章', type: 'contract', ...B }

const seal = (index, choices, seal_type = null) => ({ index, kind: 'seal', seal_type, unit: 'pt', spots: [{ page: 1, x: 300, y: 200 }], seal_choices: choices })
const signature = (index, missing) => ({ index, kind: 'signature', seal_type: null, unit: 'pt', spots: [{ page: 1, x: 100, y: 200 }], signature_missing: missing })
const doc = (id, placements, status = 'pending') => ({ request_id: id, title: `文件${id}`, kind: 'pdf', status, document: { pages: 1 }, placements })

const scan = {
  batch_id: 'b1',
  choices: [
    { ...A, seals: [{ seal_id: 's1', name: A_CONTRACT.name, type: 'contract' }, { seal_id: 's2', name: A_OFFICIAL.name, type: 'official' }] },
    { ...B, seals: [{ seal_id: 's3', name: B_CONTRACT.name, type: 'contract' }] },
    { enterprise_id: 'e3', enterprise_name: '丙公司', seals: [] },
  ],
  documents: [doc('r1', [seal(0, [A_CONTRACT, B_CONTRACT], 'contract')]), doc('r2', [seal(0, [A_CONTRACT, A_OFFICIAL, B_CONTRACT]), seal(1, [A_OFFICIAL], 'official')])],
}

test('a batch QR code is told from a single request’s', () => {
  assert.equal(isBatchPayload('eseal://stamp-batch?b=1&t=2'), true)
  assert.equal(isBatchPayload('  eseal://stamp-batch?b=1&t=2 '), true)
  assert.equal(isBatchPayload('eseal://stamp?r=1&t=2'), false)
  assert.equal(isBatchPayload(null), false)
})

test('the enterprises are those with a seal for some placement', () => {
  assert.deepEqual(batchEnterprises(scan).map((e) => e.enterprise_name), ['甲公司', '乙公司'])
  assert.deepEqual(batchEnterprises(null), [])
})

test('the seals of a placement are the chosen enterprise’s', () => {
  const p = scan.documents[1].placements[0]
  assert.deepEqual(sealsAt(p, scan, 'e1').map((s) => s.seal_id), ['s1', 's2'])
  assert.deepEqual(sealsAt(p, scan, 'e2').map((s) => s.seal_id), ['s3'])
  assert.equal(sealsAt(p, scan, null).length, 3)
})

test('one seal to choose is preselected, several are left to the person', () => {
  assert.deepEqual(batchPreselect(scan, 'e1'), { r1: { 0: 's1' }, r2: { 1: 's2' } })
  assert.deepEqual(batchPreselect(scan, 'e2'), { r1: { 0: 's3' }, r2: { 0: 's3' } })
})

test('ready when every pending document has every seal and its signature', () => {
  const picks = batchPreselect(scan, 'e1')
  assert.equal(documentReady(scan.documents[0], picks), true)
  assert.equal(documentReady(scan.documents[1], picks), false)
  assert.equal(batchReady(scan, picks, 'e1'), false)
  picks.r2[0] = 's2'
  assert.equal(batchReady(scan, picks, 'e1'), true)
  assert.equal(batchReady(scan, picks, null), false)
  const withSig = { ...scan, documents: [doc('r3', [seal(0, [A_CONTRACT]), signature(1, true)])] }
  const p3 = batchPreselect(withSig, 'e1')
  assert.equal(batchReady(withSig, p3, 'e1'), false)
  const fixed = { ...withSig, documents: withSig.documents.map((d) => ({ ...d, placements: signatureReady(d.placements) })) }
  assert.equal(batchReady(fixed, p3, 'e1'), true)
})

test('the stamp body: one enterprise, one password, every pending document’s choices', () => {
  const withDone = { ...scan, documents: [...scan.documents, doc('r9', [seal(0, [A_CONTRACT])], 'stamped')] }
  assert.deepEqual(pendingDocuments(withDone).map((d) => d.request_id), ['r1', 'r2'])
  const body = batchStampBody({ scan: withDone, picks: { r1: { 0: 's1' }, r2: { 0: 's2', 1: 's2' } }, enterpriseId: 'e1', password: 'pw' })
  assert.deepEqual(body, {
    enterprise_id: 'e1',
    certificate_password: 'pw',
    documents: [
      { request_id: 'r1', seal_id: 's1', choices: [{ placement: 0, seal_id: 's1' }] },
      { request_id: 'r2', seal_id: 's2', choices: [{ placement: 0, seal_id: 's2' }, { placement: 1, seal_id: 's2' }] },
    ],
  })
})

test('a mixed batch: a document with only a signature needs no seal and names none', () => {
  const mixed = { ...scan, documents: [doc('r1', [seal(0, [A_CONTRACT], 'contract')]), doc('r2', [signature(0, false), signature(1, false)])] }
  assert.deepEqual(batchEnterprises(mixed).map((e) => e.enterprise_id), ['e1'])
  const picks = batchPreselect(mixed, 'e1')
  assert.deepEqual(picks, { r1: { 0: 's1' }, r2: {} })
  assert.ok(documentReady(mixed.documents[1], picks))
  assert.ok(batchReady(mixed, picks, 'e1'))
  assert.deepEqual(batchStampBody({ scan: mixed, picks, enterpriseId: 'e1', password: 'pw' }), {
    enterprise_id: 'e1',
    certificate_password: 'pw',
    documents: [{ request_id: 'r1', seal_id: 's1', choices: [{ placement: 0, seal_id: 's1' }] }, { request_id: 'r2' }],
  })
  // its signature not made yet: that document waits for 个人签名
  const unsigned = { ...mixed, documents: [mixed.documents[0], doc('r2', [signature(0, true)])] }
  assert.ok(!batchReady(unsigned, picks, 'e1'))
})

test('a batch of only signatures: no enterprise to choose, none sent', () => {
  const signs = { ...scan, choices: [], documents: [doc('r1', [signature(0, false)]), doc('r2', [signature(0, false), signature(1, false)])] }
  assert.ok(!batchNeedsSeal(signs))
  assert.ok(batchNeedsSeal(scan))
  assert.deepEqual(batchEnterprises(signs), [])
  const picks = batchPreselect(signs, null)
  assert.ok(batchReady(signs, picks, null))
  assert.deepEqual(batchStampBody({ scan: signs, picks, enterpriseId: null, password: 'pw' }), {
    certificate_password: 'pw',
    documents: [{ request_id: 'r1' }, { request_id: 'r2' }],
  })
  // a seal document among them: the enterprise is needed again
  const mixed = { ...scan, documents: [...signs.documents, doc('r3', [seal(0, [A_CONTRACT], 'contract')])] }
  assert.ok(batchNeedsSeal(mixed))
  assert.ok(!batchReady(mixed, batchPreselect(mixed, null), null))
  // not made yet: waits for 个人签名
  assert.ok(!batchReady({ ...signs, documents: [doc('r1', [signature(0, true)])] }, picks, null))
})

test('the result per document, the reason in Chinese', () => {
  const view = {
    batch_id: 'b1',
    status: 'partially_stamped',
    documents: [
      { request_id: 'r1', title: '文件一', status: 'stamped', record_id: 'x', record_ids: ['x', 'y'], error: null },
      { request_id: 'r2', title: '文件二', status: 'pending', record_id: null, record_ids: [], error: { code: 'seal_revoked', message: 'the seal was revoked' } },
      { request_id: 'r3', title: '文件三', status: 'pending', record_id: null, record_ids: [], error: { code: 'mystery', message: '签章服务异常 / signing service down' } },
    ],
  }
  const lines = batchLines(view)
  assert.deepEqual(lines.map((l) => [l.ok, l.records, l.reason]), [
    [true, 2, ''],
    [false, 0, '印章已作废'],
    [false, 0, '签章服务异常'],
  ])
  assert.equal(batchSummary(view), '1 份文件盖章成功，2 份未成功')
  assert.equal(batchSummary({ documents: [view.documents[0]] }), '全部 1 份文件盖章成功')
  assert.equal(batchSummary({ documents: [view.documents[1]] }), '1 份文件均未盖章成功')
  assert.equal(errorText({ code: 'x', message: 'english only' }), '盖章失败，请稍后单独重试')
  assert.equal(errorText(null), '')
})

test('a document only signed says 签名成功, and a batch of signatures only says so', () => {
  const signature = [{ index: 0, kind: 'signature' }]
  const seal = [{ index: 0, kind: 'seal', seal_type: 'official' }]
  const signed = { request_id: 's1', title: '声明', status: 'stamped', record_id: 'sr', record_ids: [], placements: signature }
  const stamped = { request_id: 's2', title: '合同', status: 'stamped', record_id: 'x', record_ids: ['x'], placements: seal }
  const lines = batchLines({ documents: [signed, stamped] })
  assert.deepEqual(lines.map((l) => [l.signed_only, l.ok_text]), [[true, '签名成功'], [false, '盖章成功']])
  assert.equal(batchSummary({ documents: [signed, stamped] }), '全部 2 份文件盖章成功')
  assert.equal(batchSummary({ documents: [signed, { ...signed, request_id: 's3' }] }), '全部 2 份文件签名成功')
  assert.equal(batchSummary({ documents: [{ ...signed, status: 'pending', error: null }] }), '1 份文件均未签名成功')
  // the status view has no placements: they come from the batch's scan answer
  const bare = { documents: [signed, stamped].map(({ placements, ...d }) => d) }
  assert.deepEqual(batchLines(bare, { documents: [signed, stamped] }).map((l) => l.ok_text), ['签名成功', '盖章成功'])
  assert.deepEqual(batchLines(bare).map((l) => l.ok_text), ['盖章成功', '盖章成功'])
})

test('the way back from 个人签名 goes only to a stamping screen', () => {
  assert.equal(safeReturn('/stamp/0b5c-11'), '/stamp/0b5c-11')
  assert.equal(safeReturn('/batch/0b5c-11'), '/batch/0b5c-11')
  assert.equal(safeReturn(['/batch/1']), '/batch/1')
  assert.equal(safeReturn('//evil.example/stamp/1'), null)
  assert.equal(safeReturn('https://evil.example/'), null)
  assert.equal(safeReturn('/home'), null)
  assert.equal(safeReturn(undefined), null)
})

test('a missing signature is known from the scan and cleared once made', () => {
  const ps = [seal(0, [A_CONTRACT]), signature(1, true)]
  assert.equal(signatureMissing(ps), true)
  assert.equal(signatureMissing(signatureReady(ps)), false)
  assert.equal(signatureReady(ps)[0], ps[0])
  assert.equal(signatureMissing([signature(0, false)]), false)
  assert.equal(signatureMissing(undefined), false)
})

test('a document the batch did not stamp becomes a single scan of its own', () => {
  const one = documentScan({ ...scan, requester: { name: '证照系统' }, expires_at: '2030-01-01T00:00:00Z' }, 'r2')
  assert.equal(one.request_id, 'r2')
  assert.equal(one.title, '文件r2')
  assert.equal(one.placements.length, 2)
  assert.equal(one.choices, scan.choices)
  assert.equal(one.requester.name, '证照系统')
  assert.equal(documentScan(scan, 'nope'), null)
})
