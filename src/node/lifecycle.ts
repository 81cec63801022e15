import { promises as fs } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ExitCode, OperatorError } from '../errors.js'
import { newIdentity, newPlatformKeyHex } from '../mesh/keys.js'
import { decodeInvite } from '../membership/invite.js'
import { isValidNodeName } from '../state/commands.js'
import { DataDir, type NodeConfig } from './data-dir.js'
import { redeemInvite } from './join-service.js'
import type { SettingsValues } from '../config/layers.js'
import { builtinReleasePath } from '../release/builtin.js'
import { loadRelease } from '../release/load.js'
import type { ReleaseRecord } from '../release/types.js'
import { newPlatformId, type NodeRunOptions, PlatformNode } from './platform-node.js'

/** What running a node takes besides its data dir's files; the rest is passed on to PlatformNode. */
export interface CommonNodeOptions extends NodeRunOptions {
  readonly dataDir: string
  readonly name: string
  readonly listen: readonly string[]
  readonly announce?: readonly string[]
  readonly dns: readonly string[]
}

export interface RunningNode {
  readonly node: PlatformNode
  /** Stops the node and releases the data dir. */
  readonly stop: () => Promise<void>
}

/** Creates a new platform with this machine as its first member, on `release` (default: the built-in demo). Changes nothing if it fails. */
export async function initPlatform(opts: CommonNodeOptions & { domain: string, release?: ReleaseRecord, baseSettings?: SettingsValues }): Promise<RunningNode> {
  checkName(opts.name)
  checkDomain(opts.domain)
  const release = opts.release ?? (await loadRelease(builtinReleasePath('demo'))).record
  const dataDir = await claimFreshDataDir(opts.dataDir)
  return createNode(dataDir, opts, {
    platformId: newPlatformId(),
    domain: opts.domain.toLowerCase(),
    platformKeyHex: newPlatformKeyHex()
  }, async (node) => {
    await node.found()
    // The platform's first release and settings: the base file (checked by the caller) and generated secrets.
    await node.releases.commitFirst(release, opts.baseSettings ?? {})
  })
}

/** Joins an existing platform through any member named in the invite. Changes nothing if it fails. */
export async function joinPlatform(opts: CommonNodeOptions & { invite: string }): Promise<RunningNode> {
  const invite = decodeInvite(opts.invite)
  if (invite.expiresAt <= Date.now()) {
    throw new OperatorError('PRYV_INVITE_EXPIRED', `This invite expired at ${new Date(invite.expiresAt).toISOString()}.`, {
      hint: 'Create a new invite on a member with `pryv-node invite create`.',
      exitCode: ExitCode.conflict
    })
  }
  checkName(opts.name)
  const dataDir = await claimFreshDataDir(opts.dataDir)
  // The mesh starts without the platform key: the member hands it over in the join reply.
  return createNode(dataDir, opts, { platformId: invite.platformId, domain: invite.domain, platformKeyHex: '' }, async (node) => {
    const reply = await redeemInvite(invite, node.ctx.identity, { name: opts.name, addresses: node.addresses() })
    node.keyring.use(reply.platformKeyHex)
    for (const k of reply.acceptedKeysHex) node.keyring.accept(k)
    node.keyRotation.keysAsOf(reply.keysAsOf)
    await node.mesh.peerStore.merge(peerIdFromString(reply.memberPeerId), { multiaddrs: reply.addresses.map((a) => multiaddr(a)) })
    await node.replication.syncFrom(reply.memberPeerId, reply.revision)
    if (node.replica.state.members.get(node.selfId)?.role === 'full') await node.startWriterSet(false)
    opts.log.info({ revision: node.replica.revision }, 'joined the platform')
  })
}

/** Starts a node that was initialised or joined before: same identity, same membership. */
export async function startNode(opts: Partial<Pick<CommonNodeOptions, 'listen' | 'dns' | 'announce'>> & NodeRunOptions & { readonly dataDir: string }): Promise<RunningNode> {
  const dataDir = new DataDir(opts.dataDir)
  const stored = await dataDir.readConfig()
  await dataDir.checkNotLeft()
  const config: NodeConfig = { ...stored, listen: opts.listen ?? stored.listen, dns: opts.dns ?? stored.dns, announce: opts.announce ?? stored.announce }
  const identity = await dataDir.readIdentity()
  const release = await dataDir.lock()
  try {
    const node = await PlatformNode.start({ ...opts, dataDir, config, identity })
    return { node, stop: async () => { await node.stop(); await release() } }
  } catch (err) {
    await release()
    throw err
  }
}

async function claimFreshDataDir(path: string): Promise<DataDir> {
  const dataDir = new DataDir(path)
  await dataDir.ensureWritable()
  if (await dataDir.isInitialised()) {
    throw new OperatorError('PRYV_ALREADY_INITIALISED', `${dataDir.path} already holds a pryv-node.`, {
      hint: 'Start it with `pryv-node start`, or use another --data-dir for a new node.',
      exitCode: ExitCode.conflict
    })
  }
  return dataDir
}

/**
 * Starts a node on a fresh data dir, runs `setup` (found or join), then writes the node's files.
 * If anything fails, everything created is removed: the data dir is left as it was.
 */
async function createNode(
  dataDir: DataDir,
  opts: CommonNodeOptions,
  platform: Pick<NodeConfig, 'platformId' | 'domain' | 'platformKeyHex'>,
  setup: (node: PlatformNode) => Promise<void>
): Promise<RunningNode> {
  const release = await dataDir.lock()
  const config: NodeConfig = { ...platform, name: opts.name, listen: opts.listen, announce: opts.announce, dns: opts.dns }
  const identity = await newIdentity()
  let node: PlatformNode | undefined
  try {
    node = await PlatformNode.start({ ...opts, dataDir, config, identity })
    await setup(node)
    // A joiner learns the platform key during setup.
    const others = node.keyring.accepted.filter((k) => k !== node?.keyring.current)
    await dataDir.writeNode({ ...config, platformKeyHex: node.keyring.current ?? config.platformKeyHex, ...(others.length > 0 ? { acceptedKeysHex: others } : {}) }, identity)
    const running = node
    return { node: running, stop: async () => { await running.stop(); await release() } }
  } catch (err) {
    await node?.stop().catch(() => undefined)
    await Promise.all([dataDir.stateDir, dataDir.configFile, dataDir.identityFile, dataDir.servicesDir].map((p) => fs.rm(p, { recursive: true, force: true })))
    await release()
    throw err
  }
}

function checkName(name: string): void {
  if (!isValidNodeName(name)) {
    throw new OperatorError('PRYV_NAME_INVALID', `"${name}" cannot be a node name: use 1-63 lowercase letters, digits and dashes (it becomes <name>.<domain> in DNS).`, {
      hint: 'Pass a valid name with --name.',
      exitCode: ExitCode.usage
    })
  }
}

function checkDomain(domain: string): void {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.')
  if (domain.length > 253 || labels.length < 2 || !labels.every(isValidNodeName)) {
    throw new OperatorError('PRYV_DOMAIN_INVALID', `"${domain}" is not a valid platform domain.`, {
      hint: 'Pass the DNS domain the platform answers for, e.g. --domain pryv.example.com.',
      exitCode: ExitCode.usage
    })
  }
}
