// A list screen with pull-to-refresh: the items, the first load's spinner and the pull's
// state, loaded when the screen mounts and again on each pull. `fetchAll` answers the items;
// a failure is told with a toast and leaves the list as it was.
import { onMounted, ref } from 'vue'
import { toastError } from './ui.js'

export function useRefreshedList(fetchAll) {
  const items = ref([])
  const loading = ref(true)
  const refreshing = ref(false)

  async function load() {
    try {
      items.value = await fetchAll()
    } catch (err) {
      toastError(err)
    } finally {
      loading.value = false
      refreshing.value = false
    }
  }

  onMounted(load)
  return { items, loading, refreshing, load }
}
