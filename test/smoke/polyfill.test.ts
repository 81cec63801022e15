import { expect, it } from 'vitest'

it('Promise.withResolvers exists for libp2p on every supported Node', async () => {
  const { promise, resolve } = Promise.withResolvers<number>()
  resolve(7)
  expect(await promise).toBe(7)
})
