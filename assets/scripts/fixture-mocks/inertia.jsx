// Stands in for @inertiajs/react when the screenshot harness renders pages to static HTML:
// links are plain anchors, the page object is the fixture's, the router does nothing.
const LINK_PROPS = ['method', 'data', 'preserveScroll', 'preserveState', 'only', 'replace', 'as', 'prefetch']

export function Link({ href, children, ...rest }) {
  for (const key of LINK_PROPS) delete rest[key]
  return (
    <a href={href} {...rest}>
      {children}
    </a>
  )
}

export const Head = () => null

export const usePage = () => globalThis.__fixture.page

const noop = () => {}
export const router = { on: () => noop, post: noop, get: noop, reload: noop, delete: noop, patch: noop, visit: noop, flash: noop }
