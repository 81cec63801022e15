/**
 * @packageDocumentation
 * Release bundles: load and check a bundle (a directory or a .tgz), digest and sign it, migrate
 * settings between versions, and turn a release into what the runtime runs. Nothing here logs or
 * talks to the network; loadRelease and writeReleaseFiles touch the file system, the rest is pure.
 *
 *     const { record } = await loadRelease(builtinReleasePath('demo'))
 *     verifyRelease(record, trustedPublicKeysPem)                       // when signatures are required
 *     const path = migrationPath(record.migrations, running.version, record.version)
 *     const { snapshot, changes } = migrateSettings(settings, path)
 *     const problems = checkMigratedSettings(compileRelease(record).schema, snapshot)
 *     await writeReleaseFiles(record, releaseDir)
 *     const specs = serviceSpecs(record, { values, backend, serviceDir, releaseDir, nodeExecutable: process.execPath })
 */
export { type BuiltinRelease, builtinReleasePath } from './builtin.js'
export { SIGNATURE_FILE } from './bundle.js'
export type { BundleLimits } from './bundle-dir.js'
export { type CompiledRelease, compileRelease, NODE_CONSUMER, NODE_SETTINGS_GROUP, NODE_SETTINGS_GROUPS, platformSchemaDef } from './compile.js'
export { type ReleaseContent, releaseDigest } from './digest.js'
export {
  formatReleaseProblem,
  MigrationPathError,
  MigrationStepError,
  ReleaseArchiveError,
  ReleaseBackendError,
  ReleaseInvalidError,
  ReleaseNotABundleError,
  ReleaseNotFoundError,
  type ReleaseProblem,
  type ReleaseSignatureCode,
  ReleaseSignatureError,
  SigningKeyError
} from './errors.js'
export { RELEASE_MARKER_FILE, writeReleaseFiles } from './files.js'
export { type LoadedRelease, type LoadOptions, loadRelease } from './load.js'
export { checkMigratedSettings, type MigrationChange, type MigrationResult, migrateSettings, migrationName, migrationPath, upgradePath } from './migrate.js'
export { dependencyOrder, type DependencyOrder } from './order.js'
export { compareSemver, isSemver } from './semver.js'
export { generateSigningKeys, keyIdOf, privateKeyFromPem, publicKeyFromPem, type SigningKeyPair, signatureFileText, signRelease, verifyRelease } from './sign.js'
export { type ServiceSpecOptions, serviceSpecs } from './specs.js'
export type * from './types.js'
