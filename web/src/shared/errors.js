// What to tell a person for each problem+json `code` the API answers with.
// Unknown codes fall back to the server's `detail` (its Chinese half when bilingual).
import { ApiError } from './http.js'
import { formatDateTime } from './format.js'

export const MESSAGES = {
  // transport and platform-wide
  network_error: '网络连接失败，请检查网络后重试',
  bad_request: '请求有误，请检查后重试',
  invalid_json: '请求格式有误，请刷新页面后重试',
  invalid_multipart: '文件上传格式有误，请重新选择文件',
  validation_failed: '填写的信息有误，请检查后重试',
  not_authenticated: '请先登录',
  invalid_token: '登录状态无效，请重新登录',
  token_expired: '登录已过期，请重新登录',
  token_revoked: '登录已失效，请重新登录',
  session_ended: '登录已失效，请重新登录',
  invalid_refresh_token: '登录已过期，请重新登录',
  forbidden: '您没有权限进行此操作',
  role_not_allowed: '当前账号类型不能使用此功能',
  not_found: '要找的内容不存在或已删除',
  method_not_allowed: '不支持的操作',
  conflict: '操作冲突，请刷新后重试',
  concurrent_modification: '数据已被他人同时修改，请刷新后重试',
  gone: '内容已过期',
  payload_too_large: '文件太大，请选择 12 MB 以内的文件',
  unsupported_media_type: '文件格式不支持',
  locked: '已锁定，请稍后再试',
  rate_limited: '操作过于频繁，请稍后再试',
  too_many_attempts: '尝试次数过多，请稍后再试',
  internal_error: '系统繁忙，请稍后再试',
  service_unavailable: '服务暂不可用，请稍后再试',
  not_ready: '服务正在启动，请稍后再试',
  web_not_built: '页面尚未构建，请联系管理员',
  internal_auth_required: '服务内部认证失败，请联系管理员',
  unknown_event: '系统繁忙，请稍后再试',

  // identity: registration, login, face checks
  already_registered: '该证件号码或手机号码已注册统一身份认证',
  invalid_credentials: '账号或密码错误',
  account_locked: '密码连续输错次数过多，账号已临时锁定，请稍后再试',
  principal_not_found: '账号不存在',
  enterprise_not_found: '企业不存在，请检查统一社会信用代码',
  agent_not_found: '经办人不存在或已删除',
  agent_exists: '该手机号码已是本企业的经办人',
  agent_not_valid: '经办人不在有效期内',
  account_pending_verification: '实名核验尚未完成（核验服务暂不可用），请稍后重新登录，登录时将自动重新核验',
  realname_mismatch: '实名核验未通过，请核对姓名、证件号码和手机号码',
  registry_mismatch: '企业工商信息核验未通过，请核对企业名称、统一社会信用代码和法定代表人姓名、证件号码',
  registry_unavailable: '企业工商信息核验服务暂不可用，本次未注册，请稍后重新提交',
  enterprise_not_verified: '企业法定代表人尚未完成人脸核验，暂不能激活数字证书',
  not_an_enterprise: '仅企业账户可进行法定代表人人脸核验',
  already_verified: '该账户已完成核验',
  face_check_not_found: '人脸识别记录不存在，请重新识别',
  face_check_expired: '人脸识别已超时，请重新识别',
  face_check_finished: '本次人脸识别已结束，请重新识别',
  face_token_used: '人脸识别结果已使用，请重新识别',
  face_token_expired: '人脸识别结果已过期，请重新识别',
  face_token_mismatch: '人脸识别结果与当前操作不符，请重新识别',
  face_token_invalid: '人脸识别未通过或已失效，请重新识别',
  face_provider_unavailable: '人脸识别服务暂不可用，请使用账号密码登录',
  oidc_disabled: '本平台未开通统一身份认证登录，请使用账号密码登录',
  oidc_state_invalid: '统一身份认证登录已超时，请重新登录',
  oidc_state_used: '该登录请求已完成，请重新登录',
  oidc_login_refused: '统一身份认证登录未通过，请重新登录',
  oidc_provider_unavailable: '统一身份认证平台暂时无法访问，请稍后再试或使用账号密码登录',
  oidc_account_bound: '该账号已绑定其他统一身份认证账号，请联系客服',
  account_not_found: '未找到与您身份对应的账号，请先注册后再使用统一身份认证登录',

  // agents
  enterprise_only: '仅企业法人账号可以管理经办人',
  identity_verification_failed: '经办人身份信息核验未通过，请检查姓名、证件号码、有效期和手机号码',
  realname_provider_unavailable: '身份核验服务暂不可用，请稍后再试',
  password_mismatch: '两次输入的密码不一致',
  invalid_window: '结束日期不能早于开始日期',
  window_in_past: '有效期已结束，请重新选择日期',

  // certificates
  certificate_not_activated: '数字证书尚未激活',
  certificate_already_active: '数字证书已激活，无需重复激活',
  certificate_required: '请先激活数字证书',
  certificate_revoked: '数字证书已吊销',
  certificate_locked: '证书密码错误次数过多，证书已临时锁定，请稍后再试',
  wrong_certificate_password: '证书密码错误',
  weak_password: '密码为 8-16 位数字、字母或符号至少 2 种的组合',
  code_invalid: '验证码错误，请重新输入',
  code_expired: '验证码已过期，请重新获取',
  code_attempts_exceeded: '验证码错误次数过多，请重新获取',
  resend_too_soon: '验证码已发送，请 60 秒后再重新获取',
  sms_unavailable: '短信服务暂不可用，请稍后再试',
  agreements_not_accepted: '请阅读并同意全部协议',
  unknown_agreement: '协议已更新，请刷新页面后重新阅读并同意',
  identity_incomplete: '账号身份信息不完整，暂不能激活证书，请联系客服',
  seal_certificate_not_found: '印章证书不存在',
  seal_certificate_conflict: '印章证书信息冲突，请联系客服',
  seal_certificate_invalid: '印章证书无效，请联系客服',
  seal_certificate_unavailable: '印章证书暂不可用，请稍后再试',

  // seals, grants, signature
  seal_not_found: '印章不存在或已作废',
  seal_type_taken: '该类型的印章已申请，每个印章类型只能申请一次',
  seal_revoked: '印章已作废',
  unknown_seal_type: '不支持的印章类型',
  name_required: '请输入印章名称',
  name_too_long: '印章名称过长（最多 50 个字；法定代表人名章最多 6 个字）',
  unsupported_characters: '印章名称含有无法刻制的字符',
  invalid_uscc: '统一社会信用代码无效',
  font_missing: '印章字体缺失，请联系管理员',
  management_permission_required: '您没有“经办人管理”权限，不能维护印章',
  agent_not_synchronized: '经办人信息正在同步，请稍后再试',
  enterprise_unknown: '企业信息正在同步，请稍后再试',
  person_unknown: '个人信息正在同步，请稍后再试',
  legal_representative_mismatch: '法定代表人信息不一致',
  grant_not_found: '被授权人不存在或已删除',
  grant_exists: '该人员已被授权使用此印章',
  person_not_registered: '该人员尚未注册统一身份认证，或姓名与证件号码不一致',
  signature_not_found: '尚未设置个人电子签名',
  signature_exists: '已设置个人电子签名，目前只允许设置一个',
  signature_empty: '请先书写签名',
  not_png: '签名图片格式不正确',
  image_too_large: '签名图片太大',
  image_too_small: '签名图片太小，请写大一些',

  // stamping
  not_authorized: '您未获得此印章的授权，或授权不在有效期内',
  already_stamped: '该文件已盖章',
  awaiting_approval: '该文件正在等待用印审批',
  approval_rejected: '该文件的用印申请未通过',
  approval_required: '该印章需经审批后才能使用',
  approval_not_found: '审批不存在或您无权查看',
  approval_not_pending: '该用印申请已处理或已超时',
  not_an_approver: '您不是该印章的审批人',
  invalid_approvers: '审批人须为企业或有管理权限的经办人',
  expired: '盖章请求已过期，请让业务系统重新生成二维码',
  stamp_pending: '文件尚未盖章',
  stamp_request_not_found: '盖章请求不存在，请重新扫码',
  scan_required: '请先扫描盖章二维码',
  qr_invalid: '二维码无效或已使用，请扫描业务系统最新出示的二维码',
  qr_unreadable: '无法识别的二维码，请扫描盖章系统出示的二维码',
  signing_failed: '签章失败，请稍后再试',
  invalid_choice: '所选印章与盖章位置不符，请重新选择',
  signature_required: '请先设置个人电子签名',
  sm2_certificate_pending: '您的证书尚无国密证书：请先在 PDF 文件上签名或修改一次证书密码',
  batch_scanned_by_another: '该批量盖章二维码已被他人扫描',
  stamp_batch_not_found: '批量盖章请求不存在，请重新扫码',
  keyword_not_found: '未在文件中找到盖章位置的关键字',
  tsa_unavailable: '时间戳服务暂不可用，请稍后再试',
  not_a_pdf: '请上传 PDF 文件',
  pdf_invalid: 'PDF 文件无法读取，请检查文件',
  pdf_encrypted: '不支持加密的 PDF 文件',
  pdf_too_large: '文件太大，请选择更小的 PDF 文件',
  too_many_signatures: '文件中的签章域过多，无法验证',
  too_many_pages: '文件页数过多，无法处理',
  document_too_complex: '文件过于复杂，未能在限定时间内完成验证',
  verification_busy: '验证请求较多，请稍后再试',
  page_out_of_range: '盖章页码超出文件页数',
  position_off_page: '盖章位置超出页面范围',
  signature_field_exists: '文件中已存在同名签章域',
  callback_url_invalid: '回调地址无效',
  client_required: '该接口仅供业务系统调用',
  invalid_client: '客户端编号或密钥错误',
  invalid_request: '请求有误，请检查后重试',
  invalid_grant: '授权无效',
  unauthorized_client: '客户端未获授权',
  unsupported_grant_type: '不支持的授权方式',

  // messages
  message_not_found: '消息不存在',
  invalid_cursor: '列表已更新，请刷新后重试',

  // identity elements (per-field codes of a 422)
  id_number_length: '证件号码应为 18 位',
  id_number_format: '证件号码格式不正确',
  id_number_region: '证件号码地区码无效',
  id_number_birth_date: '证件号码出生日期无效',
  id_number_check_digit: '证件号码校验位不正确',
  uscc_length: '统一社会信用代码应为 18 位',
  uscc_format: '统一社会信用代码格式不正确',
  uscc_region: '统一社会信用代码行政区划码无效',
  uscc_check_char: '统一社会信用代码校验位不正确',
  phone_format: '手机号码格式不正确',
  name_length: '姓名应为 2-30 个字',
  name_format: '姓名含有无效字符',
  enterprise_name_length: '企业名称应为 2-100 个字',
  enterprise_name_format: '企业名称含有无效字符',
  password_length: '密码应为 8-16 位',
  password_characters: '密码只能包含数字、字母和符号',
  password_too_weak: '密码为 8-16 位数字、字母或符号至少 2 种的组合',
}

const FIELD_LABELS = {
  name: '姓名', id_type: '证件类型', id_number: '证件号码', id_valid_from: '证件有效期开始日期',
  id_valid_to: '证件有效期结束日期', phone: '手机号码', password: '密码', password_confirm: '确认密码',
  valid_from: '有效期开始日期', valid_to: '有效期结束日期', can_manage: '管理权限',
  username: '账号', enterprise_uscc: '统一社会信用代码', sms_code: '验证码',
  old_password: '原密码', new_password: '新密码', new_password_confirm: '确认密码',
  accepted_agreements: '协议', type: '印章类型', seal_id: '印章', enterprise_id: '企业',
  certificate_password: '证书密码', image_png: '签名图片', document: '文件', page: '页码',
  x: '横坐标', y: '纵坐标', title: '标题', qr_payload: '二维码',
}

/** The Chinese half of a bilingual server message ("中文 / English"). */
export function chinesePart(text) {
  if (!text) return ''
  const [zh] = String(text).split(' / ')
  return /[\u4e00-\u9fff]/.test(zh) ? zh : ''
}

export function fieldLabel(field) {
  const last = String(field || '').split('.').pop()
  return FIELD_LABELS[last] || ''
}

/** Field errors of a 422 as {field: text}, for showing under the inputs. */
export function fieldErrors(err) {
  const out = {}
  if (!(err instanceof ApiError)) return out
  for (const e of err.errors) {
    const key = String(e.field || '').split('.').pop()
    out[key] = chinesePart(e.message) || MESSAGES[e.code] || MESSAGES[err.code] || '格式不正确'
  }
  return out
}

/** One sentence for a toast or a dialog. */
export function errorMessage(err) {
  if (!(err instanceof ApiError)) return '操作失败，请稍后再试'
  const p = err.problem || {}
  const left = p.attempts_left
  switch (err.code) {
    case 'wrong_certificate_password':
      if (left !== undefined) return `证书密码错误，还可尝试 ${left} 次`
      break
    case 'invalid_credentials':
      if (left) return `账号或密码错误，还可尝试 ${left} 次`
      break
    case 'code_invalid':
      if (left !== undefined) return `验证码错误，还可尝试 ${left} 次`
      break
    case 'certificate_locked':
    case 'account_locked':
      if (p.locked_until) return `${MESSAGES[err.code].split('，')[0]}，已临时锁定至 ${formatDateTime(p.locked_until)}`
      break
    case 'agent_not_valid':
      if (p.valid_from) return `经办人不在有效期内（${p.valid_from} 至 ${p.valid_to}）`
      break
    case 'rate_limited':
    case 'too_many_attempts':
    case 'resend_too_soon':
      if (p.retry_after) return `操作过于频繁，请 ${p.retry_after} 秒后再试`
      break
    default:
  }
  if (err.errors.length) {
    const first = err.errors[0]
    const label = fieldLabel(first.field)
    const why = chinesePart(first.message) || MESSAGES[first.code] || MESSAGES[err.code] || '格式不正确'
    return label ? `${label}：${why}` : why
  }
  const known = MESSAGES[err.code]
  if (known) return known
  const zh = chinesePart(err.detail)
  if (zh) return zh
  return err.detail ? `操作失败：${err.detail}` : `操作失败（错误码 ${err.status}）`
}
