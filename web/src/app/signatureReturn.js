// A person asked for their own signature (a `signature` placement) who has none yet is led to
// 个人签名 and back: the stamping screen's path travels as `?return=` through the signature
// screens. Pure functions (no Vue, no DOM): web/tests/batch.test.js.

/** Only a path of the stamping screens (never another site, never `//host`). */
export function safeReturn(value) {
  const v = Array.isArray(value) ? value[0] : value
  if (typeof v !== 'string') return null
  return /^\/(stamp|batch)\/[A-Za-z0-9-]+(\/[A-Za-z0-9-]+)?$/.test(v) ? v : null
}

/** A placement of the person's own signature that the person has not created yet. */
export function signatureMissing(placements) {
  return (placements || []).some((p) => p.kind === 'signature' && p.signature_missing === true)
}

/** The same placements once the person has a signature (the scan answer said missing). */
export function signatureReady(placements) {
  return (placements || []).map((p) => (p.kind === 'signature' && p.signature_missing ? { ...p, signature_missing: false } : p))
}
