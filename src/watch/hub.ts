import { createHash } from 'node:crypto'
import { settingsText } from './content.js'

/** One version of a service's settings; `index` is the platform revision at which it took effect. */
export interface WatchEntry {
  readonly index: number
  readonly settings: Readonly<Record<string, unknown>>
  readonly text: string
}

/** What survives a node restart of a service's current version: its index, and a digest of its content. */
export interface WatchMark {
  readonly index: number
  readonly digest: string
}

/** Versions kept per service, so that a client that was away resumes without missing one. */
export const HISTORY_KEPT = 64

interface ServiceHistory {
  readonly entries: WatchEntry[]
  readonly listeners: Set<() => void>
}

/**
 * The versions of every service's settings on this node, and who waits for them. A publish that
 * leaves a service's content as it was adds nothing and wakes none of its watchers.
 */
export class WatchHub {
  private readonly services = new Map<string, ServiceHistory>()
  private readonly running = new Set<string>()

  /** @param marks each service's version before the node restarted: unchanged content keeps its index. */
  constructor(private readonly marks: ReadonlyMap<string, WatchMark> = new Map()) {}

  /**
   * Records each service's settings as of `revision` (the last settings or release change). A content
   * change without a new settings revision (the node's own --set, after a restart) takes the state
   * revision `fallback`, so that indexes only grow.
   */
  publish(revision: number, fallback: number, contents: ReadonlyMap<string, Record<string, unknown>>): void {
    this.running.clear()
    for (const [service, settings] of contents) {
      this.running.add(service)
      const history = this.history(service)
      const text = settingsText(settings)
      const mark = this.marks.get(service)
      const last: { readonly index: number; readonly text?: string } | undefined = history.entries.at(-1) ?? mark
      if (last?.text === text) continue
      const seen = history.entries.length === 0 && mark?.digest === digest(text)
      const index = seen ? mark.index : last === undefined || revision > last.index ? revision : Math.max(fallback, last.index + 1)
      history.entries.push({ index, settings, text })
      if (history.entries.length > HISTORY_KEPT) history.entries.shift()
      for (const wake of [...history.listeners]) wake()
    }
  }

  /** Each service's current version, to keep across a restart. */
  currentMarks(): Record<string, WatchMark> {
    const marks: Record<string, WatchMark> = {}
    for (const service of this.running) {
      const last = this.current(service)
      if (last) marks[service] = { index: last.index, digest: digest(last.text) }
    }
    return marks
  }

  /** Services of the release in force. */
  has(service: string): boolean {
    return this.running.has(service)
  }

  current(service: string): WatchEntry | undefined {
    return this.services.get(service)?.entries.at(-1)
  }

  /**
   * The first kept version after `index` (every change in order, to a client that keeps up), or
   * none yet. An index ahead of the service's (the node's data was reset) gets the current one.
   */
  after(service: string, index: number): WatchEntry | undefined {
    const entries = this.services.get(service)?.entries ?? []
    const last = entries.at(-1)
    if (last !== undefined && index > last.index) return last
    return entries.find((e) => e.index > index)
  }

  /** Resolves with the first version after `index`, or undefined when `signal` aborts first. */
  wait(service: string, index: number, signal: AbortSignal): Promise<WatchEntry | undefined> {
    const ready = this.after(service, index)
    if (ready || signal.aborted) return Promise.resolve(ready)
    return new Promise((resolve) => {
      const done = (): void => {
        unsubscribe()
        signal.removeEventListener('abort', done)
        resolve(this.after(service, index))
      }
      const unsubscribe = this.subscribe(service, done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  /** Called after each change of the service's settings; returns the unsubscribe function. */
  subscribe(service: string, listener: () => void): () => void {
    const { listeners } = this.history(service)
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  private history(service: string): ServiceHistory {
    let history = this.services.get(service)
    if (!history) {
      history = { entries: [], listeners: new Set() }
      this.services.set(service, history)
    }
    return history
  }
}

/** Kept on disk instead of the content: the content holds the service's secrets. */
function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
