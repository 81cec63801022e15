// Preloaded with `node --import`: records the URL of every module the process resolves into the file
// named by PRYV_TEST_MODULE_TRACE (one per line), to check what a CLI command loads. Node's own
// modules loaded by require() or inside Node (undici behind `fetch` or an ES import of node:http) do
// not pass the hook: their ids (process.moduleLoadList) are rewritten into `<trace>.builtins` every
// half second.
import { writeFileSync } from 'node:fs'
import { register } from 'node:module'

register('./module-trace-hooks.mjs', import.meta.url)

const trace = process.env.PRYV_TEST_MODULE_TRACE
if (trace) {
  const dump = () => writeFileSync(`${trace}.builtins`, `${process.moduleLoadList.join('\n')}\n`)
  dump()
  setInterval(dump, 500).unref()
}
