import { readFileSync } from 'node:fs'

let version: string | undefined

/** The version in package.json (dist/ → ../package.json). */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string
    } catch {
      version = 'unknown'
    }
  }
  return version
}
