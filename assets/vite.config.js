// Builds src/main.jsx into dist/ with a manifest; the Rust binary embeds dist/ and reads
// dist/.vite/manifest.json for the script/style tags and the Inertia asset version.
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
  base: '/',
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    // No inline scripts or styles anywhere: the CSP is script-src 'self'; style-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: { input: 'src/main.jsx' },
  },
})
