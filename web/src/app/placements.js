// Where a request's stamps go (the scan answer's `placements`), as the stamping screen shows
// them: the outline of each seal drawn on the PDF page at its real size, the same list in
// words (OFD: no renderer), the person's seal for each placement, and the stamp call's body.
//
// A placement: {index, kind: 'seal'|'signature'|'cross_page', seal_type, unit: 'pt'|'mm',
// spots: [{page, x, y}], seal_choices: [{seal_id, name, type, enterprise_id, enterprise_name}]}.
// PDF: points, origin bottom-left; OFD: millimetres, origin top-left; (x, y) the centre.
// A cross-page seal (骑缝章) has one spot per page and no x: its strips sit at the right edge.
// Pure functions (no Vue, no DOM): web/tests/placements.test.js.

const MM_PER_INCH = 25.4
const PT_PER_INCH = 72

/** The real sizes of the seal types (the seals' catalogue; GET /seal-types says the same). */
export const SEAL_SIZES = {
  official: { shape: 'round', width_mm: 42, height_mm: 42 },
  contract: { shape: 'round', width_mm: 42, height_mm: 42 },
  finance: { shape: 'round', width_mm: 42, height_mm: 42 },
  hr: { shape: 'round', width_mm: 42, height_mm: 42 },
  invoice: { shape: 'oval', width_mm: 40, height_mm: 30 },
  legal_representative: { shape: 'square', width_mm: 20, height_mm: 20 },
}
const DEFAULT_SEAL = { shape: 'round', width_mm: 42, height_mm: 42 }
// a personal signature has no catalogue size: the box it is drawn in
const SIGNATURE = { shape: 'rect', width_mm: 40, height_mm: 15 }

export const KIND_LABELS = { seal: '印章', cross_page: '骑缝章', signature: '个人签名' }

export function mmToPt(mm) {
  return (mm / MM_PER_INCH) * PT_PER_INCH
}

/** True when the scan answer is a server's that knows placements (else: today's flow). */
export function hasPlacements(scan) {
  return Array.isArray(scan?.placements) && scan.placements.length > 0
}

export function takesSeal(placement) {
  return placement.kind === 'seal' || placement.kind === 'cross_page'
}

/** Shape and size of a seal type: from GET /seal-types when loaded, else the table above. */
export function sealSize(type, types = []) {
  const t = types?.find((x) => x.code === type)
  if (t?.width_mm && t?.height_mm) return { shape: t.shape || 'round', width_mm: t.width_mm, height_mm: t.height_mm }
  return SEAL_SIZES[type] || DEFAULT_SEAL
}

/** The size drawn for a placement: the chosen seal's type, else the requested type. */
export function placementSize(placement, chosenType = null, types = []) {
  if (placement.kind === 'signature') return SIGNATURE
  return sealSize(chosenType || placement.seal_type, types)
}

/**
 * The rectangles a placement covers on one page, in the page's PDF user space
 * ([x1, y1, x2, y2], points). `view` is the page's visible box (pdf.js `page.view`:
 * [x1, y1, x2, y2]); a placement's x and y count from its lower-left corner, in the unrotated
 * page. A cross-page seal is cut into as many equal vertical strips as it has pages: strip i
 * at the right edge of its page, at height y.
 */
export function spotRects(placement, pageNumber, view, size) {
  const w = mmToPt(size.width_mm)
  const h = mmToPt(size.height_mm)
  const [ox, oy] = view
  const spots = placement.spots || []
  if (placement.kind === 'cross_page') {
    const strip = w / Math.max(1, spots.length)
    return spots
      .filter((s) => s.page === pageNumber)
      .map((s) => ({ rect: [view[2] - strip, oy + s.y - h / 2, view[2], oy + s.y + h / 2], strip: true }))
  }
  return spots
    .filter((s) => s.page === pageNumber && s.x !== null && s.x !== undefined)
    .map((s) => ({ rect: [ox + s.x - w / 2, oy + s.y - h / 2, ox + s.x + w / 2, oy + s.y + h / 2], strip: false }))
}

/**
 * The outlines to draw over one rendered page, in CSS pixels of the page's canvas.
 * `toViewport(rect)` maps a PDF rectangle to the viewport (pdf.js
 * `viewport.convertToViewportRectangle`, which knows the crop box and the rotation).
 * `chosenTypes`: placement index -> the chosen seal's type.
 */
export function pageOutlines(placements, pageNumber, view, toViewport, { chosenTypes = {}, types = [] } = {}) {
  const out = []
  for (const p of placements) {
    const size = placementSize(p, chosenTypes[p.index], types)
    for (const { rect, strip } of spotRects(p, pageNumber, view, size)) {
      const [ax, ay, bx, by] = toViewport(rect)
      out.push({
        index: p.index,
        kind: p.kind,
        shape: strip ? 'strip' : size.shape,
        left: Math.min(ax, bx),
        top: Math.min(ay, by),
        width: Math.abs(bx - ax),
        height: Math.abs(by - ay),
      })
    }
  }
  return out
}

/** The pages a placement touches, ascending, once each. */
export function placementPages(placement) {
  return [...new Set((placement.spots || []).map((s) => s.page))].sort((a, b) => a - b)
}

/** 第2页, 第1、3页, 第1–5页 (runs of three or more pages are joined). */
export function pagesText(pages) {
  if (!pages.length) return ''
  const parts = []
  let start = pages[0]
  let prev = pages[0]
  const flush = () => {
    if (prev - start >= 2) parts.push(`${start}–${prev}`)
    else for (let p = start; p <= prev; p++) parts.push(String(p))
  }
  for (const p of pages.slice(1)) {
    if (p === prev + 1) {
      prev = p
      continue
    }
    flush()
    start = prev = p
  }
  flush()
  return `第${parts.join('、')}页`
}

function round1(v) {
  return Math.round(v * 10) / 10
}

/** Where a placement goes, in words: 第2页（距左 150 mm，距上 240 mm）, 第1–5页右侧边缘. */
export function whereText(placement) {
  const pages = placementPages(placement)
  if (placement.kind === 'cross_page') return `${pagesText(pages)}右侧边缘`
  const spots = placement.spots || []
  if (spots.length !== 1) return `${pagesText(pages)}，共 ${spots.length} 处`
  const s = spots[0]
  if (placement.unit === 'mm') return `第${s.page}页（距左 ${round1(s.x)} mm，距上 ${round1(s.y)} mm）`
  return `第${s.page}页`
}

/** What a placement asks for: 合同专用章, 骑缝章（合同专用章）, 个人签名, 印章 (any type). */
export function placementWhat(placement, typeLabel) {
  if (placement.kind === 'signature') return KIND_LABELS.signature
  if (placement.kind === 'cross_page') return `骑缝章${placement.seal_type ? `（${typeLabel(placement.seal_type)}）` : ''}`
  return placement.seal_type ? typeLabel(placement.seal_type) : KIND_LABELS.seal
}

/** A placement's name on the screen: 位置1 · 合同专用章. */
export function placementTitle(placement, typeLabel) {
  return `位置${placement.index + 1} · ${placementWhat(placement, typeLabel)}`
}

/**
 * The seals the person may use for a placement, flat: [{seal_id, name, type, enterprise_id,
 * enterprise_name}]. Takes the placement's `seal_choices` flat or grouped by enterprise
 * ({enterprise_id, enterprise_name, seals}); without them, the scan's `choices` filtered by
 * the placement's seal type.
 */
export function sealChoices(placement, scan) {
  const raw = Array.isArray(placement.seal_choices) ? placement.seal_choices : null
  const flat = []
  const add = (s, ent = {}) =>
    flat.push({
      seal_id: s.seal_id,
      name: s.name,
      type: s.type,
      enterprise_id: s.enterprise_id ?? s.enterprise?.enterprise_id ?? ent.enterprise_id ?? null,
      enterprise_name: s.enterprise_name ?? s.enterprise?.name ?? s.enterprise?.enterprise_name ?? ent.enterprise_name ?? '',
    })
  if (raw) {
    for (const item of raw) {
      if (Array.isArray(item.seals)) for (const s of item.seals) add(s, item)
      else add(item)
    }
    return flat
  }
  for (const c of scan?.choices || []) {
    for (const s of c.seals) if (!placement.seal_type || s.type === placement.seal_type) add(s, c)
  }
  return flat
}

/** Seals grouped by enterprise, as the scan's `choices` ({enterprise_id, enterprise_name, seals}). */
export function byEnterprise(seals) {
  const groups = new Map()
  for (const s of seals) {
    if (!groups.has(s.enterprise_id)) groups.set(s.enterprise_id, { enterprise_id: s.enterprise_id, enterprise_name: s.enterprise_name, seals: [] })
    groups.get(s.enterprise_id).seals.push({ seal_id: s.seal_id, name: s.name, type: s.type })
  }
  return [...groups.values()]
}

/** placement index -> seal id, preselected where a placement has exactly one seal to use. */
export function preselect(placements, scan) {
  const picks = {}
  for (const p of placements) {
    if (!takesSeal(p)) continue
    const seals = sealChoices(p, scan)
    if (seals.length === 1) picks[p.index] = seals[0].seal_id
  }
  return picks
}

/**
 * A request whose placements are all `signature` (the person signs with their 个人签名, no
 * seal): no enterprise, no seal to choose, the certificate password alone.
 */
export function signatureOnly(placements) {
  return Array.isArray(placements) && placements.length > 0 && !placements.some(takesSeal)
}

/** Every placement that takes a seal has one picked. */
export function allPicked(placements, picks) {
  return placements.filter(takesSeal).every((p) => Boolean(picks[p.index]))
}

/**
 * The stamp call's body. With placements: `choices` for each seal placement, and `seal_id` /
 * `enterprise_id` of the first choice for servers that know only one seal.
 */
export function stampBody({ placements, picks, scan, password, enterpriseId = null, sealId = null }) {
  if (!placements?.length) return { enterprise_id: enterpriseId, seal_id: sealId, certificate_password: password }
  // only personal signatures: the password alone (enterprise and seal would be ignored)
  if (signatureOnly(placements)) return { certificate_password: password }
  const choices = placements.filter(takesSeal).map((p) => ({ placement: p.index, seal_id: picks[p.index] }))
  const first = choices[0]
  const firstSeal = first ? sealChoices(placements.find((p) => p.index === first.placement), scan).find((s) => s.seal_id === first.seal_id) : null
  return {
    enterprise_id: enterpriseId || firstSeal?.enterprise_id || null,
    seal_id: first?.seal_id || sealId,
    certificate_password: password,
    choices,
  }
}

/**
 * One line per placement after stamping. `recordIds`: the stamp answer's `record_ids`, either
 * ids in the order of the seal placements or [{placement, record_id}].
 */
export function stampedLines(placements, picks, scan, recordIds, typeLabel) {
  const ids = Array.isArray(recordIds) ? recordIds : []
  const byPlacement = {}
  ids.forEach((r, i) => {
    if (r && typeof r === 'object') byPlacement[r.placement] = r.record_id
  })
  let n = 0
  return placements.map((p) => {
    const seal = takesSeal(p) ? sealChoices(p, scan).find((s) => s.seal_id === picks[p.index]) : null
    let recordId = byPlacement[p.index] || null
    if (takesSeal(p)) {
      if (!recordId && typeof ids[n] === 'string') recordId = ids[n]
      n += 1
    }
    return {
      index: p.index,
      kind: p.kind,
      title: placementTitle(p, typeLabel),
      // a placement of any type is named after the seal the person chose for it
      what: p.kind === 'seal' && !p.seal_type && seal ? typeLabel(seal.type) : placementWhat(p, typeLabel),
      where: whereText(p),
      seal_name: seal?.name || '',
      enterprise_name: seal?.enterprise_name || '',
      record_id: recordId,
    }
  })
}
