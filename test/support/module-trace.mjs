// Preloaded with `node --import`: records the URL of every module the process resolves into the file
// named by PRYV_TEST_MODULE_TRACE (one per line), to check what a CLI command loads.
import { register } from 'node:module'

register('./module-trace-hooks.mjs', import.meta.url)
