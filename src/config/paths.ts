/** Top-level folders of a service directory that rendering owns; `data/`, `log/`, `backup/` never are. */
export const RENDERED_ROOTS: readonly string[] = ['conf', 'templates']

/** A relative POSIX path under conf/ or templates/, without `.`/`..` or empty segments. */
export function isRenderablePath(path: string): boolean {
  if (path.includes('\\') || path.startsWith('/')) return false
  const segments = path.split('/')
  return (
    segments.length >= 2 &&
    RENDERED_ROOTS.includes(segments[0]!) &&
    segments.every((s) => s !== '' && s !== '.' && s !== '..')
  )
}
