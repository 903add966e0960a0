// The seal types the platform offers (GET /seal-types), loaded once.
import { api, send } from '@/shared/http.js'

let types = null

export function sealTypes() {
  types ||= send('GET', api`seal-types`).then(
    (body) => body.items,
    (err) => {
      types = null
      throw err
    },
  )
  return types
}

const FALLBACK = {
  official: '法定名称章',
  contract: '合同专用章',
  finance: '财务专用章',
  invoice: '发票专用章',
  legal_representative: '法定代表人名章',
}

export function typeLabel(list, code) {
  return list?.find((t) => t.code === code)?.label || FALLBACK[code] || code
}
