import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const WAVES = resolve(import.meta.dirname, '../../dist/release/waves.js')

/** The restart waves computed by a Node process running under `locale` (LC_ALL and LANG). */
function wavesUnder(locale: string, names: string[]): string[][] {
  const script = `import(${JSON.stringify(WAVES)}).then(({ restartWaves }) => console.log(JSON.stringify(restartWaves(${JSON.stringify(names)}, 2, (n) => n))))`
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, LC_ALL: locale, LANG: locale }, encoding: 'utf8' })
  return JSON.parse(out) as string[][]
}

describe('restart waves', () => {
  // Every node computes the waves itself: they must agree whatever locale each machine runs under.
  // Danish collation sorts "aa" after "z", so a locale-aware order would pick another canary there.
  it('are the same on every machine, whatever its locale', () => {
    const names = ['zurich', 'bern', 'aarhus', 'core-2', 'core1']
    const expected = [['aarhus'], ['bern', 'core-2'], ['core1', 'zurich']]
    expect(wavesUnder('C', names)).toEqual(expected)
    expect(wavesUnder('en_US.UTF-8', names)).toEqual(expected)
    expect(wavesUnder('da_DK.UTF-8', names)).toEqual(expected)
  })
})
