// Small helpers every screen uses: error toasts in Chinese and a busy flag around a call.
import { ref } from 'vue'
import { showFailToast, showSuccessToast } from 'vant'
import { errorMessage, MESSAGES } from '@/shared/errors.js'
import { FaceCancelled } from './face.js'

export function toastError(err) {
  if (err instanceof FaceCancelled) return
  showFailToast({ message: errorMessage(err), wordBreak: 'break-word', duration: 2600 })
}

export function toastOk(message) {
  showSuccessToast({ message, duration: 1500 })
}

/** `const [busy, run] = useBusy()`; `run(fn)` shows errors as toasts and returns fn's result. */
export function useBusy() {
  const busy = ref(false)
  async function run(fn) {
    if (busy.value) return undefined
    busy.value = true
    try {
      return await fn()
    } catch (err) {
      toastError(err)
      return undefined
    } finally {
      busy.value = false
    }
  }
  return [busy, run]
}

/** A toast for a known problem code when the client itself detects it. */
export function toastCode(code) {
  showFailToast({ message: MESSAGES[code] || '操作失败', duration: 2600 })
}
