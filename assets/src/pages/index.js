// The page registry: every file in this folder named like `Todos/Index.jsx` is the Inertia
// component `Todos/Index`. Later features add pages by adding files; nothing to register.
const pages = import.meta.glob(['./**/*.jsx'])

export function resolvePage(name) {
  const load = pages[`./${name}.jsx`]
  if (!load) {
    throw new Error(`Unknown page component: ${name}`)
  }
  return load()
}
