import { describe, expect, it } from 'vitest'
import { invokedCommand } from '../../src/cli/lazy.js'

describe('invokedCommand', () => {
  it('finds the top-level command past global options and their values', () => {
    expect(invokedCommand(['status'])).toBe('status')
    expect(invokedCommand(['--data-dir', 'status', 'config', 'get'])).toBe('config')
    expect(invokedCommand(['--log-level', 'warn', '--json', 'dns', 'users'])).toBe('dns')
    expect(invokedCommand(['--data-dir=/x', 'invite', 'list'])).toBe('invite')
    expect(invokedCommand(['help', 'config'])).toBe('config')
    expect(invokedCommand(['--version'])).toBeUndefined()
    expect(invokedCommand([])).toBeUndefined()
  })
})
