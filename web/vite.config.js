// One Vite project, three pages: the H5 client (/app/), the demo relying system (/demo/)
// and the public verification page (/verify/). They share src/shared and one assets folder
// (/assets/, content-hashed); the gateway serves dist/ (services/gateway/gateway/static.py).
import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'

// Vant's icon font names a CDN copy after its inline one; the pages load nothing from
// elsewhere (the gateway's CSP says font-src 'self' data:), so the CDN source is dropped.
const localIconFont = {
  name: 'eseal-local-icon-font',
  transform(code, id) {
    if (!id.includes('/vant/') || !id.endsWith('.css')) return null
    return { code: code.replace(/,\s*url\(\/\/at\.alicdn\.com\/[^)]*\)\s*format\("woff"\)/g, ''), map: null }
  },
}

const page = (name) => fileURLToPath(new URL(`./${name}/index.html`, import.meta.url))

export default defineConfig({
  base: '/',
  plugins: [localIconFont, vue(), Components({ dts: false, resolvers: [VantResolver({ importStyle: false })] })],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: { app: page('app'), demo: page('demo'), verify: page('verify') },
      output: {
        // libraries in named chunks: the framework shared by the three pages, and the two
        // heavy ones only the screens that need them load (QR decoding, PDF rendering)
        manualChunks(id) {
          if (!id.includes('node_modules')) return undefined
          if (id.includes('@zxing')) return 'qr'
          if (id.includes('pdfjs-dist')) return 'pdf'
          return 'vendor'
        },
      },
    },
  },
  server: {
    // `npm run dev` against a running platform (`make run`).
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
