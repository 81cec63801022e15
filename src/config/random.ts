import { randomBytes } from 'node:crypto'
import type { RandomBytes } from './secrets.js'

/** The production CSPRNG for generateMissingSecrets. */
export const cryptoRandomBytes: RandomBytes = (size) => randomBytes(size)
