import { readFile } from 'node:fs/promises'
import { SettingsInvalidError } from '../config/errors.js'
import type { SettingsValues } from '../config/layers.js'
import { settingsFromEnv, settingsFromSetArgs } from '../config/local.js'
import { platformRelease } from '../config/platform.js'
import { cryptoRandomBytes } from '../config/random.js'
import { generateMissingSecrets } from '../config/secrets.js'
import { validateChange } from '../config/validate.js'
import { parseSettingsYaml } from '../config/yaml-file.js'
import { ExitCode, OperatorError } from '../errors.js'

/** How the node runs the services it renders: as child processes, or not at all (restarts are only recorded). */
export type ServicesMode = 'process' | 'none'

/** The node's local, read-only settings layers and how it runs services; built once at start. */
export interface LocalSettings {
  /** `PRYV_<GROUP>_<NAME>` variables, parsed to each setting's type. */
  readonly env: SettingsValues
  /** `--set group.name=value`, repeatable; highest precedence. */
  readonly cli: SettingsValues
  readonly services: ServicesMode
  /** How many members restart the same service at once after a settings change (rolling waves). */
  readonly restartBudget?: number
}

export const NO_LOCAL_SETTINGS: LocalSettings = { env: {}, cli: {}, services: 'none' }

/** The node's own variables (data dir, log level) and the test harness's: never settings. */
const NODE_VARIABLES = /^PRYV_(NODE_|LOG_LEVEL$|TEST_)/

/**
 * Parses the environment and `--set` arguments against the platform's schema. Throws
 * SettingsInvalidError (exit 3) listing every problem: a wrong type, a platform-wide key set locally.
 * Environment variables that merely resemble a setting's are returned as warnings.
 */
export function parseLocalSettings(
  env: Readonly<Record<string, string | undefined>>,
  setArgs: readonly string[],
  services: ServicesMode
): { settings: LocalSettings; warnings: string[] } {
  const { schema } = platformRelease()
  const settingEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !NODE_VARIABLES.test(name)))
  const fromEnv = settingsFromEnv(schema, settingEnv)
  const fromArgs = settingsFromSetArgs(schema, setArgs)
  const warnings = fromEnv.problems.filter((p) => p.code === 'PRYV_SETTING_UNKNOWN').map((p) => p.message)
  const problems = [...fromEnv.problems.filter((p) => p.code !== 'PRYV_SETTING_UNKNOWN'), ...fromArgs.problems]
  if (problems.length > 0) throw new SettingsInvalidError(problems)
  return { settings: { env: fromEnv.values, cli: fromArgs.values, services }, warnings }
}

/**
 * Reads `init-platform --settings base.yml` and checks it as the platform's first values would be
 * checked (with generated secrets filled in), so that a bad file fails before anything is created.
 * Problems carry `file:line:col`. Returns the file's values, without generated secrets.
 */
export async function readBaseSettings(file: string): Promise<SettingsValues> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new OperatorError('PRYV_SETTINGS_FILE_UNREADABLE', `Cannot read the settings file ${file}: ${(err as Error).message}.`, {
      hint: 'Pass the path of a readable YAML file with --settings.',
      exitCode: ExitCode.invalidInput
    })
  }
  const { schema, templates } = platformRelease()
  const parsed = parseSettingsYaml(schema, text, file, 'base')
  if (parsed.problems.length > 0) throw new SettingsInvalidError(parsed.problems)
  // Placeholder bytes: only whether the values validate matters here; real secrets are generated at commit.
  const filled = generateMissingSecrets(schema, parsed.values, (size) => new Uint8Array(size).fill(7)).values
  const checked = validateChange(schema, { platform: {}, machines: {} }, { target: { kind: 'platform' }, set: filled }, { templates })
  if (!checked.ok) throw new SettingsInvalidError(checked.problems.map((p) => ({ ...p, message: `${file}: ${p.message}` })))
  return parsed.values
}

/** The platform's first values: the base file's, plus every generated secret it does not hold (CSPRNG). */
export function initialPlatformValues(base: SettingsValues): { values: Record<string, unknown>; generated: readonly string[] } {
  return generateMissingSecrets(platformRelease().schema, base, cryptoRandomBytes)
}
