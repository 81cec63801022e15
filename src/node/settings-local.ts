import { readFile } from 'node:fs/promises'
import { type SettingProblem, SettingsInvalidError } from '../config/errors.js'
import type { SettingsValues } from '../config/layers.js'
import { settingsFromEnv, settingsFromSetArgs } from '../config/local.js'
import { checkReleaseSettings, type PlatformRelease } from '../release/platform.js'
import type { Schema } from '../config/schema.js'
import { cryptoRandomBytes } from '../config/random.js'
import { generateMissingSecrets } from '../config/secrets.js'
import { parseSettingsYaml } from '../config/yaml-file.js'
import { ExitCode, OperatorError } from '../errors.js'

/**
 * How the node runs the services it renders: as containers of a Docker-API engine, as child
 * processes, whichever this machine has (`auto`: the engine when it answers), or not at all
 * (restarts are only recorded).
 */
export type ServicesMode = 'docker' | 'process' | 'auto' | 'none'

/**
 * The node's local, read-only settings inputs and how it runs services; given once at start. The
 * environment and `--set` are kept as text and parsed against the schema of the release in force
 * (localLayers), since a release may add or rename the settings they name.
 */
export interface LocalSettings {
  /** The process environment: `PRYV_<GROUP>_<NAME>` variables are settings. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** `--set group.name=value`, repeatable; highest precedence. */
  readonly setArgs: readonly string[]
  readonly services: ServicesMode
  /** How many members restart the same service at once after a settings change (rolling waves). */
  readonly restartBudget?: number
  /** The Docker-API engine's Unix socket (docker and auto modes); default /var/run/docker.sock. */
  readonly dockerSocket?: string
}

export const NO_LOCAL_SETTINGS: LocalSettings = { env: {}, setArgs: [], services: 'none' }

/** The local layers parsed with one schema. */
export interface LocalLayers {
  readonly env: SettingsValues
  readonly cli: SettingsValues
  /** Environment variables that merely resemble a setting's. */
  readonly warnings: readonly string[]
  /** Wrong types, platform-wide keys set locally, malformed `--set`. */
  readonly problems: readonly SettingProblem[]
}

/** The node's own variables (data dir, log level, the backup key) and the test harness's: never settings. */
const NODE_VARIABLES = /^PRYV_(NODE_|LOG_LEVEL$|TEST_|BACKUP_KEY$)/

/** Parses the environment and `--set` arguments against a release's schema; never throws. */
export function localLayers(local: Pick<LocalSettings, 'env' | 'setArgs'>, schema: Schema): LocalLayers {
  const settingEnv = Object.fromEntries(Object.entries(local.env).filter(([name]) => !NODE_VARIABLES.test(name)))
  const fromEnv = settingsFromEnv(schema, settingEnv)
  const fromArgs = settingsFromSetArgs(schema, local.setArgs)
  return {
    env: fromEnv.values,
    cli: fromArgs.values,
    warnings: fromEnv.problems.filter((p) => p.code === 'PRYV_SETTING_UNKNOWN').map((p) => p.message),
    problems: [...fromEnv.problems.filter((p) => p.code !== 'PRYV_SETTING_UNKNOWN'), ...fromArgs.problems]
  }
}

/** localLayers, throwing SettingsInvalidError (exit 3) listing every problem: for checks before anything starts. */
export function checkLocalLayers(local: Pick<LocalSettings, 'env' | 'setArgs'>, schema: Schema): LocalLayers {
  const layers = localLayers(local, schema)
  if (layers.problems.length > 0) throw new SettingsInvalidError(layers.problems)
  return layers
}

/**
 * The base values of a new platform (`init-platform --settings base.yml`, if given) checked as its
 * first release would check them, with generated secrets filled in, so that bad or missing values
 * fail before anything is created. Problems carry `file:line:col`. Returns the file's values,
 * without generated secrets.
 */
export async function readBaseSettings(file: string | undefined, release: PlatformRelease, defaults: SettingsValues = {}): Promise<SettingsValues> {
  const { schema } = release
  let values: SettingsValues = {}
  if (file !== undefined) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new OperatorError('PRYV_SETTINGS_FILE_UNREADABLE', `Cannot read the settings file ${file}: ${(err as Error).message}.`, {
        hint: 'Pass the path of a readable YAML file with --settings.',
        exitCode: ExitCode.invalidInput
      })
    }
    const parsed = parseSettingsYaml(schema, text, file, 'base')
    if (parsed.problems.length > 0) throw new SettingsInvalidError(parsed.problems)
    values = parsed.values
  }
  values = { ...Object.fromEntries(Object.entries(defaults).filter(([key]) => schema.settings.has(key))), ...values }
  // Placeholder bytes: only whether the values validate matters here; real secrets are generated at commit.
  const filled = generateMissingSecrets(schema, values, (size) => new Uint8Array(size).fill(7)).values
  const problems = checkReleaseSettings(release, { platform: filled, machines: { founder: {} } })
  if (problems.length > 0) {
    const where = file ?? 'the base settings'
    throw new OperatorError('PRYV_SETTINGS_INVALID', `${problems.length} settings problem${problems.length === 1 ? '' : 's'} in ${where}:\n  ${problems.map((p) => p.message.replace(/^founder: /, '')).join('\n  ')}`, {
      hint: file === undefined ? 'Pass the platform\'s base values in a YAML file with --settings (see `pryv-node config schema --release <bundle>`).' : `Fix ${file} and run init-platform again.`,
      exitCode: ExitCode.invalidInput
    })
  }
  return values
}

/** The platform's first values: the base file's, plus every generated secret it does not hold (CSPRNG). */
export function initialPlatformValues(base: SettingsValues, schema: Schema): { values: Record<string, unknown>; generated: readonly string[] } {
  return generateMissingSecrets(schema, base, cryptoRandomBytes)
}
