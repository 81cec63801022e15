/** Where a command writes: stdout for results, stderr for messages. Tests pass their own. */
export interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
}
