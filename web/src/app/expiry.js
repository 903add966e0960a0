import { computed, onBeforeUnmount, ref } from 'vue'

/**
 * The seconds left until `expiresAt()` (an RFC 3339 time; null without one), never below 0,
 * ticking every second while the component lives.
 */
export function useSecondsLeft(expiresAt) {
  const now = ref(Date.now())
  const ticker = setInterval(() => (now.value = Date.now()), 1000)
  onBeforeUnmount(() => clearInterval(ticker))
  return computed(() => {
    const at = expiresAt()
    if (!at) return null
    return Math.max(0, Math.floor((Date.parse(at) - now.value) / 1000))
  })
}
