import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, runCli, tempDir } from '../support/cli.js'

describe('pryv-node completion', () => {
  let script: string

  beforeAll(async () => {
    const r = await runCli(['completion', 'bash'])
    expect(r.code).toBe(0)
    script = join(tempDir(), 'pryv-node.bash')
    writeFileSync(script, r.stdout)
  })
  afterAll(cleanupTempDirs)

  /** What bash offers after the words typed so far (the last one is being completed). */
  const complete = (...words: string[]): string[] => {
    const line = `source ${script}; COMP_WORDS=(pryv-node ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _pryv_node; printf '%s\\n' "\${COMPREPLY[@]}"`
    return execFileSync('bash', ['-c', line], { encoding: 'utf8' }).split('\n').filter((w) => w !== '')
  }

  it('bash completes commands, subcommands and options, past global options', () => {
    expect(complete('conf')).toEqual(['config'])
    expect(complete('config', 'g')).toEqual(['get'])
    expect(complete('--data-dir', '/tmp/x', 'dns', 'users', '')).toEqual(['set', 'get', 'rm', '--help'])
    expect(complete('config', 'get', '--ex')).toEqual(['--explain'])
    expect(complete('init-platform', '--dom')).toEqual(['--domain'])
  })

  it('zsh gets the same script through bashcompinit; an unknown shell is a usage error', async () => {
    const zsh = await runCli(['completion', 'zsh'])
    expect(zsh.code).toBe(0)
    expect(zsh.stdout).toMatch(/^#compdef pryv-node\n.*bashcompinit/)
    expect(zsh.stdout).toContain('complete -o default -F _pryv_node pryv-node')
    const fish = await runCli(['completion', 'fish'])
    expect(fish.code).toBe(2)
    expect(fish.stderr).toContain('error PRYV_USAGE')
  })
})
