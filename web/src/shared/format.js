// Dates as people here read them: China Standard Time, "YYYY-MM-DD HH:mm".

const TZ = 'Asia/Shanghai'
// Assembled from parts, not from a locale's pattern: locales' patterns change with the
// ICU/CLDR data (en-CA's short date was M/d/y in CLDR 42, e.g. Debian 12's Node.js 18 and
// Chrome 110), and these strings are compared and sent as ISO dates.
const partsFmt = new Intl.DateTimeFormat('en-US', {
  timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
})

function china(d) {
  const p = Object.fromEntries(partsFmt.formatToParts(d).map(({ type, value }) => [type, value]))
  return { date: `${p.year.padStart(4, '0')}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` }
}

/** Today's date in China as YYYY-MM-DD. */
export function today() {
  return china(new Date()).date
}

export function formatDate(value) {
  if (!value) return ''
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value
  return china(new Date(value)).date
}

export function formatDateTime(value, { seconds = false } = {}) {
  if (!value) return ''
  const { date, time } = china(new Date(value))
  return `${date} ${seconds ? time : time.slice(0, 5)}`
}

/** The same calendar day `years` later (29 Feb → 28 Feb when needed). */
export function addYears(isoDate, years) {
  const [y, m, d] = isoDate.split('-').map(Number)
  const last = new Date(Date.UTC(y + years, m, 0)).getUTCDate()
  return `${String(y + years).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`
}

export function addMonths(isoDate, months) {
  const [y, m, d] = isoDate.split('-').map(Number)
  const first = new Date(Date.UTC(y, m - 1 + months, 1))
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate()
  return `${first.getUTCFullYear()}-${String(first.getUTCMonth() + 1).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`
}

/** ISO date → Date at local midnight (for Vant's calendar/date picker). */
export function toDate(isoDate) {
  const [y, m, d] = isoDate.split('-').map(Number)
  return new Date(y, m - 1, d)
}

export function fromParts([y, m, d]) {
  return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`
}

export function fileSize(bytes) {
  if (bytes == null) return ''
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
