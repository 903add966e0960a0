// 用印审批: words for an approval's state, shared by the approver's screens and the person's
// status screen (pure: node --test covers it).

export const CAUSE_TEXT = {
  rejected: '审批人驳回',
  expired: '审批超时',
  seal_revoked: '印章已作废',
  grant_revoked: '印章授权已撤销',
}

/** { text, tone } of an approval: 待审批 / 已批准 / 未通过（why）. */
export function approvalState(a) {
  if (!a) return { text: '', tone: 'default' }
  if (a.status === 'pending') return { text: '待审批', tone: 'warning' }
  if (a.status === 'granted') return { text: '已批准', tone: 'success' }
  const why = CAUSE_TEXT[a.cause] || '未通过'
  return { text: `未通过（${why}${a.reason ? `：${a.reason}` : ''}）`, tone: 'danger' }
}

/** Where the stamps go, in words: 第 2 页 / 关键字「甲方（盖章）」… */
export function placementText(p) {
  const spots = p.spots || []
  const pages = [...new Set(spots.map((s) => s.page))]
  const what = p.kind === 'signature' ? '个人签名' : p.kind === 'cross_page' ? '骑缝章' : '印章'
  return pages.length ? `${what} · 第 ${pages.join('、')} 页` : what
}
