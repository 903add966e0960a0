import { createApp } from 'vue'
import 'vant/lib/index.css'
import '@/shared/theme.css'
import Verify from './Verify.vue'

createApp(Verify).mount('#root')
