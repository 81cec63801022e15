import { readFile } from 'node:fs/promises'
import { ExitCode, OperatorError } from '../errors.js'

/**
 * Reads a file the operator named on the command line (a key, a certificate). One that cannot be
 * read is bad input: `code` with a message naming `what` and the path, and `hint` saying what to give.
 */
export async function readInputFile(path: string, what: string, code: string, hint: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new OperatorError(code, `Cannot read the ${what} file ${path}: ${(err as Error).message}.`, { hint, exitCode: ExitCode.invalidInput })
  }
}
