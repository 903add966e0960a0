// A person's chosen enterprise in 我的印章 (选择企业 / 切换企业), kept for the browser tab.
import { ref } from 'vue'

const KEY = 'eseal.enterprise'
export const chosenEnterprise = ref(JSON.parse(sessionStorage.getItem(KEY) || 'null'))

export function chooseEnterprise(e) {
  chosenEnterprise.value = e ? { enterprise_id: e.enterprise_id, name: e.name } : null
  if (e) sessionStorage.setItem(KEY, JSON.stringify(chosenEnterprise.value))
  else sessionStorage.removeItem(KEY)
}
