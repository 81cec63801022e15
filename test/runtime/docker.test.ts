import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Dockerode from 'dockerode'
import { describe, expect, it } from 'vitest'
import { detectRuntime, dockerRuntime, pingEngine } from '../../src/runtime/index.js'
import { runtimeContract } from './contract.js'

// scripts/docker-engine.sh start prints these; CI=true makes a missing engine a failure, not a skip.
const dockerHost = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : undefined
const socketPath = process.env.PRYV_TEST_DOCKER_SOCKET ?? dockerHost ?? '/var/run/docker.sock'
const registry = process.env.PRYV_TEST_REGISTRY ?? '127.0.0.1:5055'
const BUSYBOX = 'localhost/test-busybox:latest'
const PULLED = `${registry}/test/busybox:1`
const NODE = 'localhost/test-node:20'
const PLATFORM = 'pryvtest'
const NODE_ID = `n${process.pid}`
const TEST_LABEL = 'io.pryv.test'
const runId = `${process.pid}-${Date.now()}`

async function engineProblem(): Promise<string | null> {
  try {
    await pingEngine(socketPath, 2_000)
  } catch {
    return `no Docker engine answers at ${socketPath} (start one with: eval "$(scripts/docker-engine.sh start | tail -1)")`
  }
  const docker = new Dockerode({ socketPath })
  for (const image of [BUSYBOX, NODE]) {
    try {
      await docker.getImage(image).inspect()
    } catch {
      return `test image ${image} is missing (scripts/docker-engine.sh start builds it)`
    }
  }
  return null
}

const problem = await engineProblem()

if (problem !== null && process.env.CI === 'true') {
  describe('docker runtime', () => {
    it('has a Docker engine to test against (CI=true)', () => {
      expect.fail(problem)
    })
  })
} else if (problem !== null) {
  console.warn(`[docker runtime tests skipped] ${problem}`)
}

describe.runIf(problem === null)('docker runtime', () => {
  const docker = new Dockerode({ socketPath })
  const scratch = mkdtempSync(join(tmpdir(), 'pryv-runtime-docker-'))

  async function forgetPulled(): Promise<void> {
    await docker
      .getImage(PULLED)
      .remove()
      .catch(() => {})
  }

  async function plainContainer(name: string, labels: Record<string, string>): Promise<string> {
    const c = await docker.createContainer({
      name,
      Image: BUSYBOX,
      Cmd: ['sleep', '1000'],
      Labels: { [TEST_LABEL]: runId, ...labels },
      HostConfig: { NetworkMode: 'none', Init: true }
    })
    return c.id
  }

  it('detectRuntime picks docker when the engine answers', async () => {
    const runtime = await detectRuntime({ platformId: PLATFORM, nodeId: NODE_ID, dataDir: scratch, socketPath })
    expect(runtime.kind).toBe('docker')
    await runtime.close()
  })

  runtimeContract({
    kind: 'docker',
    runtime: () => dockerRuntime({ platformId: PLATFORM, nodeId: NODE_ID, socketPath, labels: { [TEST_LABEL]: runId } }),
    shell: (script) => ({ image: BUSYBOX, command: '/bin/sh', args: ['-c', script] }),
    node: (script) => ({ image: NODE, command: '/usr/bin/node', args: ['-e', script] }),
    foreign: {
      sameName: (service) => plainContainer(`pryv-${PLATFORM}-${NODE_ID}-${service}`, {}),
      otherNode: (service) =>
        plainContainer(`pryv-${PLATFORM}-other-${service}`, {
          'io.pryv.platform': PLATFORM,
          'io.pryv.node': 'other',
          'io.pryv.service': service
        }),
      exists: async (id) => {
        try {
          await docker.getContainer(id).inspect()
          return true
        } catch {
          return false
        }
      }
    },
    pull: { image: PULLED, missing: `${registry}/test/missing:1`, forget: forgetPulled },
    teardown: async () => {
      const mine = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${TEST_LABEL}=${runId}`] }) })
      for (const c of mine) await docker.getContainer(c.Id).remove({ force: true })
      await forgetPulled()
      rmSync(scratch, { recursive: true, force: true })
    }
  })
})
