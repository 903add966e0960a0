// Unit tests of the stamping screen's placement logic (src/app/placements.js): outlines at
// the seals' real sizes, the placements in words, the choice per placement and the stamp body.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  allPicked,
  byEnterprise,
  hasPlacements,
  mmToPt,
  pageOutlines,
  pagesText,
  placementTitle,
  preselect,
  sealChoices,
  sealSize,
  signatureOnly,
  spotRects,
  stampBody,
  stampedLines,
  whereText,
} from '../src/app/placements.js'

const A4 = [0, 0, 595, 842]
const label = (code) => ({ contract: '合同专用章', legal_representative: '法定代表人名章', official: '法定名称章' })[code] || code
const ENT = { enterprise_id: 'e1', enterprise_name: '甲公司' }
const CONTRACT = { seal_id: 's1', name: '甲公司合同专用章', type: 'contract', ...ENT }
const NAME_SEAL = { seal_id: 's2', name: '张三', type: 'legal_representative', ...ENT }
const OFFICIAL = { seal_id: 's3', name: '乙公司法定名称章', type: 'official', enterprise_id: 'e2', enterprise_name: '乙公司' }

const contractAt = { index: 0, kind: 'seal', seal_type: 'contract', unit: 'pt', spots: [{ page: 2, x: 400, y: 150 }], seal_choices: [CONTRACT] }
const nameSealAt = { index: 1, kind: 'seal', seal_type: 'legal_representative', unit: 'pt', spots: [{ page: 2, x: 200, y: 150 }], seal_choices: [NAME_SEAL] }
const crossPage = {
  index: 2,
  kind: 'cross_page',
  seal_type: null,
  unit: 'pt',
  spots: [1, 2, 3].map((page) => ({ page, x: null, y: 400 })),
  seal_choices: [CONTRACT, OFFICIAL],
}

test('an older server has no placements: today’s flow', () => {
  assert.ok(!hasPlacements({ choices: [] }))
  assert.ok(!hasPlacements({ placements: [] }))
  assert.ok(hasPlacements({ placements: [contractAt] }))
})

test('seal sizes: the catalogue’s, else the built-in table', () => {
  assert.deepEqual(sealSize('invoice'), { shape: 'oval', width_mm: 40, height_mm: 30 })
  assert.deepEqual(sealSize('legal_representative'), { shape: 'square', width_mm: 20, height_mm: 20 })
  assert.deepEqual(sealSize('unknown'), { shape: 'round', width_mm: 42, height_mm: 42 })
  assert.deepEqual(sealSize('hr', [{ code: 'hr', shape: 'round', width_mm: 40, height_mm: 40 }]), { shape: 'round', width_mm: 40, height_mm: 40 })
  assert.ok(Math.abs(mmToPt(25.4) - 72) < 1e-9)
})

test('a seal’s outline is centred on its spot, at its real size, on its page only', () => {
  const [r] = spotRects(contractAt, 2, A4, sealSize('contract'))
  const w = mmToPt(42)
  assert.deepEqual(r.rect.map((v) => Math.round(v * 100) / 100), [400 - w / 2, 150 - w / 2, 400 + w / 2, 150 + w / 2].map((v) => Math.round(v * 100) / 100))
  assert.equal(spotRects(contractAt, 1, A4, sealSize('contract')).length, 0)
  // positions count from the visible box's lower-left corner (a crop box that does not start at 0)
  const [cropped] = spotRects(contractAt, 2, [10, 20, 605, 862], sealSize('contract'))
  assert.ok(Math.abs((cropped.rect[0] + cropped.rect[2]) / 2 - 410) < 1e-9)
  assert.ok(Math.abs((cropped.rect[1] + cropped.rect[3]) / 2 - 170) < 1e-9)
})

test('a cross-page seal: one strip per page at the right edge, the strips adding up to the seal', () => {
  const size = sealSize('official')
  const strips = [1, 2, 3].flatMap((n) => spotRects(crossPage, n, A4, size))
  assert.equal(strips.length, 3)
  const total = strips.reduce((sum, s) => sum + (s.rect[2] - s.rect[0]), 0)
  assert.ok(Math.abs(total - mmToPt(42)) < 1e-9)
  for (const s of strips) {
    assert.equal(s.rect[2], 595)
    assert.ok(s.strip)
  }
})

test('outlines in viewport pixels: y flipped, size of the chosen seal', () => {
  const scale = 0.5
  const toViewport = ([x1, y1, x2, y2]) => [x1 * scale, (842 - y1) * scale, x2 * scale, (842 - y2) * scale]
  const out = pageOutlines([contractAt, nameSealAt], 2, A4, toViewport)
  assert.equal(out.length, 2)
  const [contract, name] = out
  assert.equal(contract.shape, 'round')
  assert.ok(Math.abs(contract.left + contract.width / 2 - 200) < 1e-9) // x 400 pt at half scale
  assert.ok(Math.abs(contract.top + contract.height / 2 - (842 - 150) / 2) < 1e-9)
  assert.ok(Math.abs(contract.width - (mmToPt(42) * scale)) < 1e-9)
  assert.equal(name.shape, 'square')
  assert.ok(Math.abs(name.width - mmToPt(20) * scale) < 1e-9)
  // a placement of any type is drawn at the size of the seal the person picked
  const any = { ...contractAt, seal_type: null }
  const [picked] = pageOutlines([any], 2, A4, toViewport, { chosenTypes: { 0: 'legal_representative' } })
  assert.equal(picked.shape, 'square')
})

test('pages and places in words', () => {
  assert.equal(pagesText([2]), '第2页')
  assert.equal(pagesText([1, 3]), '第1、3页')
  assert.equal(pagesText([1, 2, 3, 4, 5]), '第1–5页')
  assert.equal(pagesText([1, 2, 4, 5, 6]), '第1、2、4–6页')
  assert.equal(whereText(contractAt), '第2页')
  assert.equal(whereText(crossPage), '第1–3页右侧边缘')
  const ofd = { index: 0, kind: 'seal', seal_type: null, unit: 'mm', spots: [{ page: 2, x: 150, y: 240 }] }
  assert.equal(whereText(ofd), '第2页（距左 150 mm，距上 240 mm）')
  const keywordAll = { ...contractAt, spots: [{ page: 1, x: 1, y: 1 }, { page: 3, x: 1, y: 1 }] }
  assert.equal(whereText(keywordAll), '第1、3页，共 2 处')
  assert.equal(placementTitle(contractAt, label), '位置1 · 合同专用章')
  assert.equal(placementTitle(crossPage, label), '位置3 · 骑缝章')
  assert.equal(placementTitle({ index: 0, kind: 'signature', spots: [] }, label), '位置1 · 个人签名')
})

test('seal choices: flat or grouped by enterprise; else the scan’s, by type', () => {
  assert.deepEqual(sealChoices(contractAt, {}), [CONTRACT])
  const grouped = { ...contractAt, seal_choices: [{ ...ENT, seals: [{ seal_id: 's1', name: CONTRACT.name, type: 'contract' }] }] }
  assert.deepEqual(sealChoices(grouped, {}), [CONTRACT])
  const scan = { choices: byEnterprise([CONTRACT, NAME_SEAL, OFFICIAL]) }
  assert.deepEqual(sealChoices({ ...contractAt, seal_choices: undefined }, scan), [CONTRACT])
  assert.equal(sealChoices({ ...contractAt, seal_type: null, seal_choices: undefined }, scan).length, 3)
})

test('one seal for a placement is preselected; every seal placement must be chosen', () => {
  const placements = [contractAt, nameSealAt, crossPage, { index: 3, kind: 'signature', spots: [{ page: 3, x: 100, y: 100 }] }]
  const picks = preselect(placements, {})
  assert.deepEqual(picks, { 0: 's1', 1: 's2' })
  assert.ok(!allPicked(placements, picks))
  picks[2] = 's3'
  assert.ok(allPicked(placements, picks))
})

test('the stamp body: choices plus the first choice’s seal for older servers', () => {
  const placements = [contractAt, nameSealAt, crossPage]
  const body = stampBody({ placements, picks: { 0: 's1', 1: 's2', 2: 's3' }, scan: {}, password: 'pw' })
  assert.deepEqual(body, {
    enterprise_id: 'e1',
    seal_id: 's1',
    certificate_password: 'pw',
    choices: [
      { placement: 0, seal_id: 's1' },
      { placement: 1, seal_id: 's2' },
      { placement: 2, seal_id: 's3' },
    ],
  })
  assert.deepEqual(stampBody({ placements: [], enterpriseId: 'e1', sealId: 's1', password: 'pw' }), {
    enterprise_id: 'e1',
    seal_id: 's1',
    certificate_password: 'pw',
  })
})

test('only personal signatures: no seal to choose, the password alone', () => {
  const sign = (index) => ({ index, kind: 'signature', spots: [{ page: 1, x: 100, y: 100 }] })
  assert.ok(signatureOnly([sign(0)]))
  assert.ok(signatureOnly([sign(0), sign(1)]))
  assert.ok(!signatureOnly([sign(0), contractAt]))
  assert.ok(!signatureOnly([crossPage]))
  assert.ok(!signatureOnly([]))
  assert.ok(!signatureOnly(undefined))
  // nothing to pick: ready as far as seals go
  assert.ok(allPicked([sign(0), sign(1)], {}))
  assert.deepEqual(preselect([sign(0)], { choices: [{ enterprise_id: 'e1', enterprise_name: '甲', seals: [{ seal_id: 's1', type: 'official' }] }] }), {})
  // no enterprise_id, no seal_id, no choices (a choice naming its placement is invalid_choice)
  assert.deepEqual(stampBody({ placements: [sign(0), sign(1)], picks: {}, scan: {}, password: 'pw', enterpriseId: 'e1' }), {
    certificate_password: 'pw',
  })
})

test('after stamping: one line per placement with its record', () => {
  const placements = [contractAt, { index: 1, kind: 'signature', spots: [{ page: 2, x: 1, y: 1 }] }, crossPage]
  const picks = { 0: 's1', 2: 's3' }
  const lines = stampedLines(placements, picks, {}, ['r1', 'r2'], label)
  assert.deepEqual(
    lines.map((l) => [l.index, l.seal_name, l.record_id]),
    [
      [0, '甲公司合同专用章', 'r1'],
      [1, '', null],
      [2, '乙公司法定名称章', 'r2'],
    ],
  )
  const byObject = stampedLines(placements, picks, {}, [{ placement: 2, record_id: 'x2' }, { placement: 0, record_id: 'x0' }], label)
  assert.deepEqual(byObject.map((l) => l.record_id), ['x0', null, 'x2'])
  assert.equal(stampedLines(placements, picks, {}, undefined, label)[0].record_id, null)
  // a placement of any type is named after the chosen seal
  const any = stampedLines([{ ...contractAt, seal_type: null }], { 0: 's1' }, {}, ['r1'], label)
  assert.equal(any[0].what, '合同专用章')
})
