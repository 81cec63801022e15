import { promises as fs } from 'node:fs'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ExitCode, OperatorError } from '../errors.js'
import { newIdentity } from '../mesh/keys.js'
import { DataDir, type NodeConfig } from './data-dir.js'
import { DurableRaftLog } from './writer-set/raft-log.js'
import { decodeSnapshotText, SnapshotError } from '../state/snapshot.js'
import { HEAD_KEY, type StateTextRecord, StateStore } from '../state/store.js'
import { writeRawState } from '../state/raw-state.js'
import type { Member } from '../state/types.js'
import type { BackupContent, BackupHeader } from '../backup/format.js'

const MEMBER_PREFIX = 'state/c/member/'

export interface RestoreTarget {
  readonly dataDir: string
  readonly name: string
  readonly listen: readonly string[]
  readonly announce?: readonly string[]
  readonly dns: readonly string[]
  /** Replace the platform that lives in the data dir. */
  readonly force: boolean
}

export interface RestoredNode {
  readonly peerId: string
  /** The old members, kept as observers until they are removed or rejoin with fresh invites. */
  readonly gone: readonly string[]
}

/**
 * Founds a platform in `target.dataDir` from a backup: the same platform id, domain, mesh key and
 * state at the backup's revision, with this new node as the writer set's only voter and every old
 * member kept as an observer (gone: its machine is lost). The log goes on from the backup's chain
 * head. On any failure nothing is left in the data dir.
 */
export async function restoreDataDir(header: BackupHeader, content: BackupContent, target: RestoreTarget): Promise<RestoredNode> {
  let records: StateTextRecord[]
  try {
    const snapshot = decodeSnapshotText(content.snapshot)
    if (snapshot.header.platformId !== header.platformId || snapshot.header.revision !== header.revision) throw new SnapshotError('the state inside does not match the backup\'s header')
    records = snapshot.records
  } catch (err) {
    if (!(err instanceof SnapshotError)) throw err
    throw new OperatorError('PRYV_BACKUP_CORRUPT', `The backup's state cannot be read: ${err.message}.`, { hint: 'Use another copy of the backup.', exitCode: ExitCode.usage })
  }

  const dataDir = new DataDir(target.dataDir)
  await dataDir.ensureWritable()
  if ((await dataDir.isInitialised()) && !target.force) {
    throw new OperatorError('PRYV_ALREADY_INITIALISED', `${dataDir.path} already holds a pryv-node: restoring would replace its platform.`, {
      hint: 'Restore into an empty --data-dir, or pass --force to replace what is there (it is lost).',
      exitCode: ExitCode.conflict
    })
  }
  const release = await dataDir.lock()
  const created = [dataDir.stateDir, dataDir.configFile, dataDir.identityFile]
  try {
    for (const path of [...created, dataDir.servicesDir]) await fs.rm(path, { recursive: true, force: true })
    const identity = await newIdentity()
    const self = peerIdFromPrivateKey(identity).toString()
    const { records: founded, gone } = refound(records, self, target.name, header.revision)
    // The records go in as the backup holds them (JSON text, not parsed), into a fresh state database.
    await writeRawState(dataDir.stateDir, founded)
    const store = await StateStore.open(dataDir.stateDir)
    try {
      // The platform log starts after the backup's revision.
      await store.compactLog(header.revision + 1, Date.now())
      // The writer set starts anew: this node its only voter; its first index stands for the backup's revision.
      await DurableRaftLog.open(store, [self])
    } finally {
      await store.close()
    }
    const config: NodeConfig = { platformId: header.platformId, domain: header.domain, platformKeyHex: content.platformKeyHex, name: target.name, listen: target.listen, announce: target.announce, dns: target.dns }
    await dataDir.writeNode(config, identity)
    return { peerId: self, gone }
  } catch (err) {
    await Promise.all(created.map((p) => fs.rm(p, { recursive: true, force: true })))
    throw err
  } finally {
    await release()
  }
}

/**
 * The backup's records with this node as the only full member and writer: old full members become
 * observers (an old member of the same name is replaced by this node), so that nothing they sign
 * is trusted until they rejoin.
 */
function refound(records: readonly StateTextRecord[], self: string, name: string, revision: number): { records: StateTextRecord[], gone: string[] } {
  const out: StateTextRecord[] = []
  const gone: string[] = []
  for (const record of records) {
    const [key, json] = record
    if (key.startsWith(MEMBER_PREFIX)) {
      const member = JSON.parse(json) as Member
      if (member.name === name) continue
      gone.push(member.name)
      out.push([key, JSON.stringify({ ...member, role: 'observer' })])
    } else if (key === HEAD_KEY) {
      out.push([key, JSON.stringify({ ...JSON.parse(json), writers: [self], raft: { index: 1, revision } })])
    } else {
      out.push(record)
    }
  }
  const me: Member = { peerId: self, name, role: 'full', addresses: [], joinedAt: Date.now() }
  out.push([`${MEMBER_PREFIX}${self}`, JSON.stringify(me)])
  return { records: out, gone: gone.sort() }
}
