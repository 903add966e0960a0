import { test } from 'node:test'
import assert from 'node:assert/strict'
import { approvalState, placementText } from '../src/app/approvals.js'

test('an approval reads as 待审批, 已批准 or 未通过 with its cause and reason', () => {
  assert.equal(approvalState({ status: 'pending' }).text, '待审批')
  assert.equal(approvalState({ status: 'granted' }).text, '已批准')
  assert.equal(approvalState({ status: 'rejected', cause: 'rejected', reason: '金额有误' }).text, '未通过（审批人驳回：金额有误）')
  assert.equal(approvalState({ status: 'rejected', cause: 'seal_revoked' }).text, '未通过（印章已作废）')
  assert.equal(approvalState({ status: 'rejected', cause: 'expired' }).tone, 'danger')
})

test('a placement is told by its kind and pages', () => {
  assert.equal(placementText({ kind: 'seal', spots: [{ page: 2, x: 1, y: 1 }] }), '印章 · 第 2 页')
  assert.equal(placementText({ kind: 'cross_page', spots: [{ page: 1 }, { page: 2 }] }), '骑缝章 · 第 1、2 页')
  assert.equal(placementText({ kind: 'signature', spots: [] }), '个人签名')
})
