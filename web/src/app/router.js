import { createRouter, createWebHistory } from 'vue-router'
import { session, loadMe } from './session.js'

const ENTERPRISE = ['enterprise']
const SEAL_KEEPERS = ['enterprise', 'agent']
const PERSON = ['person']

// meta: title (nav bar and document title), roles (who may open it), cert (needs an
// activated certificate — the seal module and stamping), tab (shows the tab bar).
const routes = [
  { path: '/', redirect: '/home' },
  { path: '/login', component: () => import('./views/Login.vue'), meta: { title: '登录', public: true } },
  { path: '/login/oidc', component: () => import('./views/OidcCallback.vue'), meta: { title: '统一身份认证登录', public: true } },
  // the face provider's page returns here (ESEAL_TENCENT_FACE_REDIRECT_URL); public: face login
  { path: '/face/return', component: () => import('./views/FaceReturn.vue'), meta: { title: '人脸识别', public: true } },
  { path: '/home', component: () => import('./views/Home.vue'), meta: { title: '吉事办', tab: true } },
  { path: '/messages', component: () => import('./views/Messages.vue'), meta: { title: '消息提醒', tab: true } },
  { path: '/mine', component: () => import('./views/Mine.vue'), meta: { title: '我的', tab: true } },

  { path: '/agents', component: () => import('./views/agents/AgentList.vue'), meta: { title: '我的经办人', roles: ENTERPRISE } },
  { path: '/agents/new', component: () => import('./views/agents/AgentAdd.vue'), meta: { title: '添加经办人', roles: ENTERPRISE } },
  { path: '/agents/:id/edit', component: () => import('./views/agents/AgentEdit.vue'), meta: { title: '编辑经办人', roles: ENTERPRISE } },
  { path: '/agents/:id/password', component: () => import('./views/agents/AgentPassword.vue'), meta: { title: '经办人修改密码', roles: ENTERPRISE } },

  { path: '/certificate/activate', component: () => import('./views/cert/Activate.vue'), meta: { title: '数字证书激活' } },
  { path: '/certificate', component: () => import('./views/cert/Certificate.vue'), meta: { title: '数字证书' } },
  { path: '/certificate/password', component: () => import('./views/cert/CertPassword.vue'), meta: { title: '修改证书密码', cert: true } },
  { path: '/certificate/renew', component: () => import('./views/cert/CertRenew.vue'), meta: { title: '更新数字证书', cert: true } },
  { path: '/certificate/reset', component: () => import('./views/cert/CertReset.vue'), meta: { title: '忘记证书密码', cert: true } },

  { path: '/seals', component: () => import('./views/seals/SealList.vue'), meta: { title: '我的印章', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/new', component: () => import('./views/seals/SealAdd.vue'), meta: { title: '添加印章', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/:id', component: () => import('./views/seals/SealDetail.vue'), meta: { title: '印章详情', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/:id/approval', component: () => import('./views/seals/SealApproval.vue'), meta: { title: '用印审批设置', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/:id/grants', component: () => import('./views/seals/GrantList.vue'), meta: { title: '被授权人', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/:id/grants/new', component: () => import('./views/seals/GrantForm.vue'), meta: { title: '添加被授权人', roles: SEAL_KEEPERS, cert: true } },
  { path: '/seals/:id/grants/:grantId', component: () => import('./views/seals/GrantForm.vue'), meta: { title: '修改被授权人', roles: SEAL_KEEPERS, cert: true } },

  { path: '/my-seals', component: () => import('./views/person/MySeals.vue'), meta: { title: '我的印章', roles: PERSON, cert: true } },
  { path: '/my-seals/choose', component: () => import('./views/person/ChooseEnterprise.vue'), meta: { title: '选择企业', roles: PERSON, cert: true } },
  { path: '/my-seals/:enterpriseId/:sealId', component: () => import('./views/person/MySealDetail.vue'), meta: { title: '印章详情', roles: PERSON, cert: true } },
  { path: '/signature', component: () => import('./views/person/Signature.vue'), meta: { title: '个人电子签名', roles: PERSON } },
  { path: '/signature/handwritten', component: () => import('./views/person/SignatureDraw.vue'), meta: { title: '手写签名', roles: PERSON } },
  { path: '/signature/generated', component: () => import('./views/person/SignatureGenerate.vue'), meta: { title: '自动生成签名', roles: PERSON } },
  { path: '/signature-records', component: () => import('./views/person/SignatureRecords.vue'), meta: { title: '个人签名记录', roles: PERSON } },

  { path: '/scan', component: () => import('./views/stamp/Scan.vue'), meta: { title: '扫一扫', roles: PERSON, cert: true } },
  { path: '/stamp/:requestId', component: () => import('./views/stamp/Stamp.vue'), meta: { title: '电子印章使用', roles: PERSON, cert: true } },
  { path: '/batch/:batchId', component: () => import('./views/stamp/Batch.vue'), meta: { title: '批量盖章', roles: PERSON, cert: true } },
  { path: '/batch/:batchId/done', component: () => import('./views/stamp/BatchDone.vue'), meta: { title: '批量盖章结果', roles: PERSON } },
  { path: '/stamp/:requestId/done', component: () => import('./views/stamp/StampDone.vue'), meta: { title: '盖章成功', roles: PERSON } },

  // 用印审批: approvers (the seal's approvers only, as the API decides) and the person's status
  { path: '/approvals', component: () => import('./views/approvals/ApprovalList.vue'), meta: { title: '用印审批', roles: SEAL_KEEPERS } },
  { path: '/approvals/:id', component: () => import('./views/approvals/ApprovalDetail.vue'), meta: { title: '用印审批', roles: SEAL_KEEPERS } },
  { path: '/stamp/:requestId/awaiting/:approvalId', component: () => import('./views/stamp/StampAwaiting.vue'), meta: { title: '等待审批', roles: PERSON } },

  { path: '/records', component: () => import('./views/Records.vue'), meta: { title: '印章使用记录' } },
  { path: '/support', component: () => import('./views/Support.vue'), meta: { title: '客服中心', public: true } },
  { path: '/:rest(.*)*', redirect: '/home' },
]

export const router = createRouter({
  history: createWebHistory('/app/'),
  routes,
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
})

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!session.access) return { path: '/login', query: to.fullPath !== '/home' ? { redirect: to.fullPath } : {} }
  const roles = to.meta.roles
  if (roles && !roles.includes(session.principal?.role)) {
    // one entry, two modules: a person's 我的印章 is the granted seals
    if (to.path === '/seals') return '/my-seals'
    return '/home'
  }
  if (to.meta.cert) {
    try {
      const me = await loadMe()
      if (me.certificate_status !== 'active') return { path: '/certificate/activate', query: { redirect: to.fullPath } }
    } catch {
      return session.access ? true : '/login'
    }
  }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title && to.meta.title !== '吉事办' ? `${to.meta.title} · 吉事办` : '吉事办 · 电子印章'
})
