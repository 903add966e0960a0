import { createApp } from 'vue'
import 'vant/lib/index.css'
import '@/shared/theme.css'
import App from './App.vue'
import { router } from './router.js'

createApp(App).use(router).mount('#root')
