// The browser entry: boots the Inertia client on the page object the server embedded in
// <script data-page="app" type="application/json">.
import { createInertiaApp } from '@inertiajs/react'
import { createRoot } from 'react-dom/client'
import Layout from './Layout.jsx'
import { resolvePage } from './pages/index.js'
import './app.css'

createInertiaApp({
  resolve: resolvePage,
  title: (title) => (title ? `${title} · trifecta` : 'trifecta'),
  // Called with (component, page); returns the layout component for every page.
  layout: () => Layout,
  // The bar's CSS lives in app.css: the injected <style> would break style-src 'self'.
  progress: { delay: 250, includeCSS: false, showSpinner: false },
  setup({ el, App, props }) {
    createRoot(el).render(<App {...props} />)
  },
})
