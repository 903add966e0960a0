import { createApp } from 'vue'
import 'vant/lib/index.css'
import '@/shared/theme.css'
import Demo from './Demo.vue'

createApp(Demo).mount('#root')
