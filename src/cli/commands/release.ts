import { mkdir, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { ExitCode, isOperatorError, OperatorError } from '../../errors.js'
import { SIGNATURE_FILE } from '../../release/bundle.js'
import { compileRelease, NODE_SETTINGS_GROUPS } from '../../release/compile.js'
import { ReleaseNotABundleError } from '../../release/errors.js'
import { type LoadedRelease, loadRelease } from '../../release/load.js'
import { generateSigningKeys, signatureFileText, signRelease, verifyRelease } from '../../release/sign.js'
import type { MigrationStep } from '../../release/types.js'
import type { CliContext } from '../context.js'
import { readInputFile } from '../input-file.js'
import { table } from '../format.js'

const PRIVATE_KEY_FILE = 'release-signing.key'
const PUBLIC_KEY_FILE = 'release-signing.pub'

interface Verified {
  name: string
  version: string
  description?: string
  digest: string
  source: LoadedRelease['source']
  signature: { status: 'valid' | 'unchecked' | 'unsigned', keyId?: string }
  settings: { groups: number, keys: number }
  services: { name: string, image?: string, command?: string, args?: readonly string[], dependsOn: readonly string[], dnsNames: readonly string[] }[]
  migrations: { from: string, to: string, steps: string[] }[]
  /** On a node: checked against the release in force (as `release apply --dry-run`); off-platform: the bundle alone. */
  platform: { checked: true, from: string | null, unchanged: boolean, migration: string[] } | { checked: false }
}

/** `pryv-node release …`: returns the `release` command so that other modules may add subcommands. */
export function registerReleaseCommands(program: Command, ctx: CliContext): Command {
  const release = program.command('release').description('Release bundles: verify, sign, apply, follow and roll back.')
  const collect = (value: string, previous: string[]): string[] => [...previous, value]

  release.command('verify')
    .description('Check a release bundle (a directory or a .tgz of one) without applying it: manifest, schema, templates, migrations, and its signature. Lists every problem at once (exit 3). On a running node, also against the release in force: the migration path to it and the platform\'s settings migrated to its schema.')
    .argument('<bundle>', 'bundle directory or .tgz')
    .option('--key <pem>', 'public key file of a trusted publisher (repeatable); with --key the bundle must be signed by one of them', collect, [])
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pryv-node release verify releases/demo\n  pryv-node release verify pryv-io-1.9.2.tgz --key publisher.pub --json')
    .action(async (bundle: string, o: { key: string[], json?: boolean }) => {
      const loaded = await loadRelease(bundle)
      const keys = await Promise.all(o.key.map((file) => readReleaseKey(file, 'public key')))
      const { record } = loaded
      const signature: Verified['signature'] = keys.length > 0
        ? { status: 'valid', keyId: verifyRelease(record, keys).keyId }
        : record.signature ? { status: 'unchecked', keyId: record.signature.keyId } : { status: 'unsigned' }
      const compiled = compileRelease(record)
      const result: Verified = {
        name: record.name,
        version: record.version,
        ...(record.description !== undefined ? { description: record.description } : {}),
        digest: record.digest,
        source: loaded.source,
        signature,
        settings: { groups: Object.keys(record.schema.groups).length, keys: [...compiled.schema.settings.values()].filter((s) => !Object.hasOwn(NODE_SETTINGS_GROUPS, s.group)).length },
        services: compiled.services.map((s) => ({
          name: s.name,
          ...(s.image !== undefined ? { image: s.image } : {}),
          ...(s.command !== undefined ? { command: s.command } : {}),
          ...(s.args !== undefined ? { args: s.args } : {}),
          dependsOn: s.dependsOn ?? [],
          dnsNames: s.dnsNames ?? []
        })),
        migrations: record.migrations.map((m) => ({ from: m.from, to: m.to, steps: m.steps.map(describeStep) })),
        platform: await checkAgainstPlatform(ctx, resolve(bundle), keys)
      }
      ctx.io.out(o.json ? JSON.stringify(result, null, 2) : formatVerified(result))
    })

  release.command('keygen')
    .description(`Create an ed25519 key pair for signing releases: DIR/${PRIVATE_KEY_FILE} (private, mode 0600) and DIR/${PUBLIC_KEY_FILE} (for the nodes).`)
    .argument('<dir>', 'directory for the two files (created if needed)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  pryv-node release keygen ~/.pryv-release-keys')
    .action(async (dir: string, o: { json?: boolean }) => {
      const keys = generateSigningKeys()
      const privatePath = resolve(dir, PRIVATE_KEY_FILE)
      const publicPath = resolve(dir, PUBLIC_KEY_FILE)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      try {
        await writeFile(privatePath, keys.privateKeyPem, { mode: 0o600, flag: 'wx' })
        await writeFile(publicPath, keys.publicKeyPem, { mode: 0o644, flag: 'wx' })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        throw new OperatorError('PRYV_RELEASE_KEY_EXISTS', `${dir} already holds a release signing key`, {
          exitCode: ExitCode.conflict,
          hint: `keep using it, or choose another directory; never overwrite a key that signed published releases`
        })
      }
      const result = { keyId: keys.keyId, privateKey: privatePath, publicKey: publicPath }
      ctx.io.out(o.json ? JSON.stringify(result) : `key ${keys.keyId}\nprivate  ${privatePath} (mode 0600: keep it secret)\npublic   ${publicPath} (give it to \`release verify --key\` and \`release apply --key\`)`)
    })

  release.command('sign')
    .description(`Sign a bundle directory: writes ${SIGNATURE_FILE} (key id and ed25519 signature of the release's digest). Pack it afterwards if you ship a .tgz.`)
    .argument('<bundle-dir>', 'bundle directory (not a .tgz)')
    .requiredOption('--key <private.pem>', `private key file (from \`release keygen\`: ${PRIVATE_KEY_FILE})`)
    .option('--json', 'print JSON')
    .addHelpText('after', `\nExample:\n  pryv-node release sign releases/demo --key ~/.pryv-release-keys/${PRIVATE_KEY_FILE}\n  tar -czf demo-1.0.0.tgz -C releases demo`)
    .action(async (dir: string, o: { key: string, json?: boolean }) => {
      const isDirectory = await stat(dir).then((s) => s.isDirectory(), () => undefined)
      if (isDirectory === false) throw new ReleaseNotABundleError(dir, 'only a bundle directory can be signed', 'extract the archive, sign the directory, then pack it again')
      const pem = await readReleaseKey(o.key, 'private key')
      const { record } = await loadRelease(dir)
      const signed = signRelease(record, pem)
      const path = join(dir, SIGNATURE_FILE)
      await writeFile(path, signatureFileText(signed.signature!))
      const result = { name: signed.name, version: signed.version, digest: signed.digest, keyId: signed.signature!.keyId, file: resolve(path) }
      ctx.io.out(o.json ? JSON.stringify(result) : `signed ${signed.name} ${signed.version} (digest ${signed.digest}) with key ${result.keyId}: wrote ${result.file}`)
    })

  return release
}

/** A release signing key named by `--key`: the private one for `sign`, public ones for `verify` and `apply`. */
export async function readReleaseKey(file: string, what: 'public key' | 'private key'): Promise<string> {
  return await readInputFile(file, what, 'PRYV_RELEASE_KEY_UNREADABLE', `Give the path of the ${what} file made by \`pryv-node release keygen\`${what === 'public key' ? ' (the .pub file)' : ''}.`)
}

function describeStep(step: MigrationStep): string {
  switch (step.op) {
    case 'add':
    case 'set-default':
      return `${step.op} ${step.key}${step.layer === 'machines' ? ' (every node)' : ''}`
    case 'rename':
      return `rename ${step.from} → ${step.to}`
    case 'remove':
      return `remove ${step.key}`
    case 'code':
      return `code: ${step.description}`
  }
}

/**
 * On a machine whose node runs: the bundle against the platform's release in force, as `release
 * apply --dry-run` checks it (same product, a migration path, the migrated settings valid on every
 * node); its refusal is verify's. Without a running node, the bundle alone.
 */
async function checkAgainstPlatform(ctx: CliContext, path: string, keys: readonly string[]): Promise<Verified['platform']> {
  try {
    for await (const item of ctx.controlStream('release.apply', { path, keys, dryRun: true })) {
      const e = item as { event?: string, from?: { version: string } | null, unchanged?: boolean, migration?: string[] }
      if (e.event === 'result') return { checked: true, from: e.from?.version ?? null, unchanged: e.unchanged === true, migration: e.migration ?? [] }
    }
  } catch (err) {
    if (isOperatorError(err) && err.code === 'PRYV_NODE_NOT_RUNNING') return { checked: false }
    throw err
  }
  return { checked: false }
}

function formatPlatformCheck(p: Verified['platform'], version: string): string {
  if (!p.checked) return 'platform   not checked: no node runs here (the bundle alone was checked)'
  if (p.unchanged) return 'platform   this release is the one in force'
  const migration = p.migration.length === 0 ? 'no settings migration' : `settings migration: ${p.migration.join('; ')}`
  return `platform   from ${p.from ?? 'no release'} to ${version}: ${migration}; the migrated settings fit every node`
}

function formatVerified(v: Verified): string {
  const signature = {
    valid: `valid, by trusted key ${v.signature.keyId}`,
    unchecked: `signed by key ${v.signature.keyId}, not checked (give --key PUBLIC.pub to check it)`,
    unsigned: 'none (unsigned)'
  }[v.signature.status]
  const rows = v.services.map((s) => [
    s.name,
    s.image ?? '-',
    s.command === undefined ? '-' : [s.command, ...(s.args ?? [])].join(' '),
    s.dependsOn.join(' ') || '-',
    s.dnsNames.join(' ') || '-'
  ])
  const migrations = v.migrations.length === 0 ? ['  none'] : v.migrations.map((m) => `  ${m.from} → ${m.to}: ${m.steps.join('; ') || 'no steps'}`)
  return [
    `release    ${v.name} ${v.version}${v.description ? ` — ${v.description}` : ''}`,
    `source     ${v.source.path} (${v.source.kind})`,
    `digest     ${v.digest}`,
    `signature  ${signature}`,
    `settings   ${v.settings.keys} settings in ${v.settings.groups} groups (plus the node's ${Object.keys(NODE_SETTINGS_GROUPS).join(', ')} groups)`,
    formatPlatformCheck(v.platform, v.version),
    '',
    table(['SERVICE', 'IMAGE', 'COMMAND (PROCESS BACKEND)', 'DEPENDS ON', 'DNS NAMES'], rows),
    '',
    'migrations',
    ...migrations,
    '',
    'ok: the bundle is valid'
  ].join('\n')
}
