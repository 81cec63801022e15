import { ExitCode, OperatorError } from '../errors.js'

/**
 * One problem found in a bundle. `file` is relative to the bundle's root (`release.yaml`,
 * `migrations/1.0.0-to-1.1.0.yaml`); `field` is a path inside it (`services.core.image`); `fix` says
 * what to change.
 */
export interface ReleaseProblem {
  readonly file: string
  readonly field?: string
  readonly message: string
  readonly fix: string
}

/** `release.yaml services.core.image: 'pryvio/core' has no tag — pin it: …` */
export function formatReleaseProblem(problem: ReleaseProblem): string {
  const where = problem.field === undefined ? problem.file : `${problem.file} ${problem.field}`
  return `${where}: ${problem.message} — ${problem.fix}`
}

/** The bundle was read but is wrong; every problem found is listed at once. */
export class ReleaseInvalidError extends OperatorError {
  static override name = 'ReleaseInvalidError'
  override name = 'ReleaseInvalidError'
  readonly problems: readonly ReleaseProblem[]

  constructor(bundle: string, problems: readonly ReleaseProblem[]) {
    const noun = problems.length === 1 ? 'problem' : 'problems'
    super('PRYV_RELEASE_INVALID', `release bundle ${bundle} has ${problems.length} ${noun}:\n  ${problems.map(formatReleaseProblem).join('\n  ')}`, {
      hint: `fix each problem in the file named before it, then check again with \`pryv-node release verify ${bundle}\``,
      details: { bundle, problems }
    })
    this.problems = problems
  }
}

/** Nothing at the given path. */
export class ReleaseNotFoundError extends OperatorError {
  static override name = 'ReleaseNotFoundError'
  override name = 'ReleaseNotFoundError'

  constructor(path: string) {
    super('PRYV_RELEASE_NOT_FOUND', `no release bundle at ${path}: the path does not exist`, {
      hint: 'give the path of a bundle directory (holding release.yaml) or of a .tgz of one',
      details: { path }
    })
  }
}

/** Something exists at the path, but it is neither a bundle directory nor a bundle archive. */
export class ReleaseNotABundleError extends OperatorError {
  static override name = 'ReleaseNotABundleError'
  override name = 'ReleaseNotABundleError'

  constructor(path: string, reason: string, hint?: string) {
    super('PRYV_RELEASE_NOT_A_BUNDLE', `${path} is not a release bundle: ${reason}`, {
      hint: hint ?? 'a bundle is a directory holding release.yaml (and schema.yaml, templates/, migrations/…), or a .tgz of one',
      details: { path }
    })
  }
}

/** A `.tgz` that cannot be extracted safely (paths leaving the bundle, links, devices, too large). */
export class ReleaseArchiveError extends OperatorError {
  static override name = 'ReleaseArchiveError'
  override name = 'ReleaseArchiveError'
  readonly problems: readonly string[]

  constructor(path: string, problems: readonly string[]) {
    super('PRYV_RELEASE_ARCHIVE_UNSAFE', `release archive ${path} cannot be extracted safely:\n  ${problems.join('\n  ')}`, {
      hint: 'pack the bundle directory with plain files and directories only, relative paths inside it, e.g. `tar -czf bundle.tgz -C releases demo`',
      details: { path, problems }
    })
    this.problems = problems
  }
}

export type ReleaseSignatureCode =
  | 'PRYV_RELEASE_UNSIGNED'
  | 'PRYV_RELEASE_UNTRUSTED_KEY'
  | 'PRYV_RELEASE_BAD_SIGNATURE'
  | 'PRYV_RELEASE_DIGEST_MISMATCH'

/** The release's signature does not prove that a trusted key published this exact content. */
export class ReleaseSignatureError extends OperatorError {
  static override name = 'ReleaseSignatureError'
  override name = 'ReleaseSignatureError'
  declare readonly code: ReleaseSignatureCode

  constructor(code: ReleaseSignatureCode, message: string, hint: string, details?: Record<string, unknown>) {
    super(code, message, { hint, details })
  }
}

/** A key file that is not an ed25519 key in PEM. */
export class SigningKeyError extends OperatorError {
  static override name = 'SigningKeyError'
  override name = 'SigningKeyError'

  constructor(what: string, detail: string) {
    super('PRYV_RELEASE_KEY_INVALID', `${what} is not a usable ed25519 key: ${detail}`, {
      hint: 'create a key pair with `pryv-node release keygen DIR`; sign with the private key (.key), verify with the public one (.pub)'
    })
  }
}

/** No chain of migrations leads from the running version to the new one. */
export class MigrationPathError extends OperatorError {
  static override name = 'MigrationPathError'
  override name = 'MigrationPathError'

  constructor(from: string, to: string, available: readonly string[]) {
    const list = available.length === 0 ? 'none' : available.join(', ')
    super('PRYV_RELEASE_NO_MIGRATION_PATH', `no migration path from version ${from} to ${to}; the release's migrations: ${list}`, {
      hint: `apply an intermediate release first, or ship migrations/${from}-to-${to}.yaml (or a chain of migrations from ${from}) in the bundle`,
      details: { from, to, available }
    })
  }
}

/** A migration step failed while migrating settings: nothing was changed. */
export class MigrationStepError extends OperatorError {
  static override name = 'MigrationStepError'
  override name = 'MigrationStepError'

  constructor(migration: string, step: number, detail: string) {
    super('PRYV_RELEASE_MIGRATION_FAILED', `migration ${migration}, step ${step + 1}: ${detail}`, {
      hint: `fix step ${step + 1} of migrations/${migration}.yaml in the bundle; the settings were left as they were`,
      details: { migration, step }
    })
  }
}

/** The release cannot run on this node's backend (no command for processes, no image for Docker). */
export class ReleaseBackendError extends OperatorError {
  static override name = 'ReleaseBackendError'
  override name = 'ReleaseBackendError'

  constructor(release: string, backend: 'docker' | 'process', services: readonly string[]) {
    const missing = backend === 'process' ? 'a command' : 'an image'
    const other = backend === 'process' ? 'docker' : 'process'
    super('PRYV_RELEASE_BACKEND_UNSUPPORTED', `release ${release} cannot run on the ${backend} backend: ${services.join(', ')} ${services.length === 1 ? 'has' : 'have'} no ${missing.slice(missing.indexOf(' ') + 1)}`, {
      exitCode: ExitCode.environment,
      hint: `run this node with the ${other} backend, or give every service ${missing} in the release`,
      details: { release, backend, services }
    })
  }
}
