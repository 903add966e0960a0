// Checks done in the browser before a request, with the same rules the services apply
// (the services stay the authority; this only saves a round trip and explains early).

export const PASSWORD_RULE = '密码为 8-16 位数字、字母或符号至少 2 种的组合'

/** GB 11643-1999: 18 characters, the last one a MOD 11-2 check character. */
export function isIdNumber(value) {
  const v = String(value || '').toUpperCase()
  if (!/^\d{17}[\dX]$/.test(v)) return false
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  const sum = weights.reduce((acc, w, i) => acc + w * Number(v[i]), 0)
  return '10X98765432'[sum % 11] === v[17]
}

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'

/** GB 32100-2015: 18 characters, the last one a MOD 31 check character. */
export function isUscc(value) {
  const v = String(value || '').toUpperCase()
  if (v.length !== 18 || [...v].some((c) => !USCC_CHARS.includes(c))) return false
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
  const sum = weights.reduce((acc, w, i) => acc + w * USCC_CHARS.indexOf(v[i]), 0)
  return USCC_CHARS[(31 - (sum % 31)) % 31] === v[17]
}

export function isPhone(value) {
  return /^1[3-9]\d{9}$/.test(String(value || ''))
}

/** The manual's rule: 8–16 of digits, letters, ASCII symbols; at least two kinds. */
export function isGoodPassword(value) {
  const v = String(value || '')
  if (v.length < 8 || v.length > 16) return false
  if (!/^[\x21-\x7e]+$/.test(v)) return false
  const kinds = [/\d/, /[A-Za-z]/, /[^\dA-Za-z]/].filter((re) => re.test(v)).length
  return kinds >= 2
}

export function isPersonName(value) {
  return /^[\u4e00-\u9fa5·A-Za-z\s]{2,30}$/.test(String(value || ''))
}

// Vant form rules
export const rules = {
  required: (message) => [{ required: true, message }],
  name: [
    { required: true, message: '请输入姓名' },
    { validator: isPersonName, message: '姓名应为 2-30 个汉字或字母' },
  ],
  idNumber: [
    { required: true, message: '请输入证件号码' },
    { validator: isIdNumber, message: '证件号码不正确，请检查' },
  ],
  phone: [
    { required: true, message: '请输入手机号码' },
    { validator: isPhone, message: '手机号码格式不正确' },
  ],
  password: [
    { required: true, message: '请输入密码' },
    { validator: isGoodPassword, message: PASSWORD_RULE },
  ],
  confirm: (other) => [
    { required: true, message: '请再次输入密码' },
    { validator: (v) => v === other(), message: '两次输入的密码不一致' },
  ],
}
