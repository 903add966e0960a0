// A batch (批量盖章, POST /stamp-batches/scans): its documents, the seal of every placement of
// each within the one enterprise the person stamps for, the one stamp call's body, and the
// result per document. Pure functions (no Vue, no DOM): web/tests/batch.test.js.
// A plain relative path (node --test has no '@' alias); spelled via src/ because the
// repository's self-containment check reads any '..'+'/shared' as the handbook beside it.
import { MESSAGES, chinesePart } from '../../src/shared/errors.js'
import { allPicked, sealChoices, signatureOnly, takesSeal } from './placements.js'
import { signatureMissing } from './signatureReturn.js'

/** A batch's QR code (eseal://stamp-batch?b=…&t=…), else a single request's. */
export function isBatchPayload(text) {
  return /^eseal:\/\/stamp-batch\?/i.test(String(text || '').trim())
}

/** The enterprises the person may stamp for: those with a seal for some document's placement. */
export function batchEnterprises(scan) {
  const used = new Set()
  for (const d of scan?.documents || []) {
    for (const p of d.placements || []) if (takesSeal(p)) for (const s of sealChoices(p, scan)) used.add(s.enterprise_id)
  }
  return (scan?.choices || [])
    .filter((c) => used.has(c.enterprise_id))
    .map((c) => ({ enterprise_id: c.enterprise_id, enterprise_name: c.enterprise_name, count: c.seals.length }))
}

/** The seals usable at a placement for the chosen enterprise. */
export function sealsAt(placement, scan, enterpriseId) {
  return sealChoices(placement, scan).filter((s) => !enterpriseId || s.enterprise_id === enterpriseId)
}

/** The documents the stamp will try: those still pending. */
export function pendingDocuments(scan) {
  return (scan?.documents || []).filter((d) => !d.status || d.status === 'pending')
}

/** request id -> {placement index -> seal id}, preselected where a placement has one seal. */
export function batchPreselect(scan, enterpriseId) {
  const picks = {}
  for (const d of scan?.documents || []) {
    picks[d.request_id] = {}
    for (const p of d.placements || []) {
      if (!takesSeal(p)) continue
      const seals = sealsAt(p, scan, enterpriseId)
      if (seals.length === 1) picks[d.request_id][p.index] = seals[0].seal_id
    }
  }
  return picks
}

/** A document is ready when every seal placement has a seal and its signature exists. */
export function documentReady(doc, picks) {
  return allPicked(doc.placements || [], picks?.[doc.request_id] || {}) && !signatureMissing(doc.placements)
}

/** Some pending document takes a seal (else: only personal signatures, no enterprise). */
export function batchNeedsSeal(scan) {
  return pendingDocuments(scan).some((d) => (d.placements || []).some(takesSeal))
}

/** Every pending document is ready (and there is one); the enterprise chosen if a seal is used. */
export function batchReady(scan, picks, enterpriseId) {
  const docs = pendingDocuments(scan)
  return (Boolean(enterpriseId) || !batchNeedsSeal(scan)) && docs.length > 0 && docs.every((d) => documentReady(d, picks))
}

/** POST /stamp-batches/{id}/stamp: one enterprise, one password, each document's choices. */
export function batchStampBody({ scan, picks, enterpriseId, password }) {
  const documents = pendingDocuments(scan).map((d) => {
    const mine = picks?.[d.request_id] || {}
    const choices = (d.placements || []).filter(takesSeal).map((p) => ({ placement: p.index, seal_id: mine[p.index] }))
    const one = { request_id: d.request_id }
    if (choices.length) {
      one.seal_id = choices[0].seal_id
      one.choices = choices
    }
    return one
  })
  // only personal signatures: no enterprise (the password alone signs them)
  if (!batchNeedsSeal(scan)) return { certificate_password: password, documents }
  return { enterprise_id: enterpriseId, certificate_password: password, documents }
}

/** A document's reason in Chinese (GET /stamp-batches/{id}: error {code, message}). */
export function errorText(error) {
  if (!error) return ''
  return MESSAGES[error.code] || chinesePart(error.message) || '盖章失败，请稍后单独重试'
}

const STATUS = { stamped: '已盖章', pending: '未盖章', expired: '已过期' }

/** One line per document of a batch's view. */
export function batchLines(view, scan = null) {
  // the placements come with the batch's scan answer (the status view has none)
  const placements = (d) => d.placements || scan?.documents?.find((x) => x.request_id === d.request_id)?.placements || []
  return (view?.documents || []).map((d) => ({
    request_id: d.request_id,
    title: d.title,
    ok: d.status === 'stamped',
    // only personal signatures: signed, and no seal usage record is made
    signed_only: signatureOnly(placements(d)),
    ok_text: signatureOnly(placements(d)) ? '签名成功' : '盖章成功',
    status: d.status,
    status_text: STATUS[d.status] || d.status,
    reason: d.status === 'stamped' ? '' : errorText(d.error) || (d.status === 'expired' ? '盖章请求已过期' : ''),
    records: d.record_ids?.length || (d.record_id ? 1 : 0),
  }))
}

/** 全部 2 份文件盖章成功 / 1 份成功，1 份未成功. */
export function batchSummary(view, scan = null) {
  const lines = batchLines(view, scan)
  const ok = lines.filter((l) => l.ok).length
  const done = lines.length && lines.every((l) => l.signed_only) ? '签名' : '盖章' // a batch of signatures only
  if (lines.length && ok === lines.length) return `全部 ${ok} 份文件${done}成功`
  if (!ok) return `${lines.length} 份文件均未${done}成功`
  return `${ok} 份文件${done}成功，${lines.length - ok} 份未成功`
}

/**
 * A document of the batch as a single scan answer (what the stamping screen reads), so a
 * document the batch stamp did not stamp — still a pending request this person scanned — can
 * be stamped on its own (POST /stamp-requests/{id}/stamp).
 */
export function documentScan(batch, requestId) {
  const d = (batch?.documents || []).find((x) => x.request_id === requestId)
  if (!d) return null
  return {
    request_id: d.request_id,
    title: d.title,
    kind: d.kind,
    status: 'pending',
    document: d.document,
    placements: d.placements,
    choices: batch.choices,
    requester: batch.requester,
    expires_at: batch.expires_at,
  }
}
