import type { SettingsValues } from './layers.js'
import type { Schema, SecretGenerator } from './schema.js'

/** A CSPRNG: `size` random bytes. Injected so tests are deterministic; see random.ts for the real one. */
export type RandomBytes = (size: number) => Uint8Array

export interface GeneratedSecrets {
  readonly values: Record<string, unknown>
  /** Keys that were generated, in schema order (values are never returned separately). */
  readonly generated: readonly string[]
}

/** At `init-platform`: fills every generated secret that `values` does not already hold. */
export function generateMissingSecrets(schema: Schema, values: SettingsValues, randomBytes: RandomBytes): GeneratedSecrets {
  const next: Record<string, unknown> = { ...values }
  const generated: string[] = []
  for (const setting of schema.settings.values()) {
    const generator = setting.def.generate
    if (generator === undefined || (next[setting.key] !== undefined && next[setting.key] !== null)) continue
    next[setting.key] = generateSecret(generator, randomBytes)
    generated.push(setting.key)
  }
  return { values: next, generated }
}

export function generateSecret(generator: SecretGenerator, randomBytes: RandomBytes): string {
  if (generator.kind === 'uuid') return uuidV4(randomBytes(16))
  return Buffer.from(randomBytes(generator.bytes)).toString(generator.encoding)
}

function uuidV4(bytes: Uint8Array): string {
  const b = Buffer.from(bytes)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = b.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
