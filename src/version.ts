import { readFileSync } from 'node:fs'

/** The version in package.json (dist/version.js → ../package.json). */
export function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version
  } catch {
    return 'unknown'
  }
}
