// QR decoding for 扫一扫: from the camera (where the browser allows it) and from a picked
// photo, decoded on a canvas. ZXing is sensitive to a code's size in pixels and to its
// TRY_HARDER mode (which misses some clean, screen-shot codes that the plain mode reads),
// so a photo is tried at several sizes, each in both modes. ZXing also misses a few clean,
// computer-made codes at every size (about 1 in 40 of the platform's own batch QR codes in a
// test of 80), which jsQR, a second decoder, reads: it is tried on each size as well.
import { BrowserQRCodeReader } from '@zxing/browser'
import { DecodeHintType } from '@zxing/library'
import jsQR from 'jsqr'

const SIZES = [1600, 1000, 800, 600, 400, 300]

function reader(tryHarder = false) {
  return new BrowserQRCodeReader(tryHarder ? new Map([[DecodeHintType.TRY_HARDER, true]]) : undefined)
}

export function cameraAvailable() {
  return Boolean(navigator.mediaDevices?.getUserMedia) && window.isSecureContext
}

/** Start the camera into `video`; `onText(text)` gets the first code. Returns a stop(). */
export async function scanCamera(video, onText) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false })
  video.srcObject = stream
  try {
    await video.play()
  } catch (err) {
    for (const track of stream.getTracks()) track.stop()
    throw err
  }
  const readers = [reader(), reader(true)]
  let attempt = 0
  let timer = null
  let stopped = false
  const stop = () => {
    stopped = true
    clearTimeout(timer)
    for (const track of stream.getTracks()) track.stop()
    video.srcObject = null
  }
  // a frame every 150 ms, the two modes taking turns
  const tick = () => {
    if (stopped) return
    if (video.videoWidth) {
      const longest = Math.max(video.videoWidth, video.videoHeight)
      try {
        const text = readers[attempt++ % 2].decodeFromCanvas(drawn(video, Math.min(1, 1000 / longest))).getText()
        stop()
        onText(text)
        return
      } catch {
        // no code in this frame
      }
    }
    timer = setTimeout(tick, 150)
  }
  tick()
  return stop
}

function loadImage(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file)
    const img = new Image()
    img.onload = () => resolve({ img, url })
    img.onerror = () => {
      URL.revokeObjectURL(url)
      reject(new Error('image'))
    }
    img.src = url
  })
}

/** The text of the QR code in an image file, or null when none is found. */
export async function decodeImageFile(file) {
  const { img, url } = await loadImage(file)
  try {
    const [plain, harder] = [reader(), reader(true)]
    const ways = [
      (canvas) => plain.decodeFromCanvas(canvas).getText(),
      (canvas) => harder.decodeFromCanvas(canvas).getText(),
      secondDecoder,
    ]
    const longest = Math.max(img.naturalWidth, img.naturalHeight)
    const sizes = [...new Set([Math.min(longest, 1600), ...SIZES])]
    for (const size of sizes) {
      const canvas = drawn(img, size / longest)
      for (const way of ways) {
        try {
          return way(canvas)
        } catch {
          // not found this way; try the next
        }
      }
    }
    return null
  } finally {
    URL.revokeObjectURL(url)
  }
}

/** The code on `canvas` read by jsQR (throws when it finds none, as ZXing does). */
function secondDecoder(canvas) {
  const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
  const found = jsQR(data, width, height, { inversionAttempts: 'dontInvert' })
  if (!found) throw new Error('no QR code')
  return found.data
}

/** `source` (an image or a video frame) on a white canvas, scaled. */
function drawn(source, scale) {
  const width = source.naturalWidth || source.videoWidth
  const height = source.naturalHeight || source.videoHeight
  const canvas = document.createElement('canvas')
  canvas.width = Math.max(1, Math.round(width * scale))
  canvas.height = Math.max(1, Math.round(height * scale))
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  ctx.fillStyle = '#fff' // transparent PNGs: a QR code needs its light modules
  ctx.fillRect(0, 0, canvas.width, canvas.height)
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height)
  return canvas
}
