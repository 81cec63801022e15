/** Labels on every container the node manages; together they say who owns it. */
export const LABEL_PLATFORM = 'io.pryv.platform'
export const LABEL_NODE = 'io.pryv.node'
export const LABEL_SERVICE = 'io.pryv.service'
export const LABEL_SPEC_HASH = 'io.pryv.spec-hash'

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'
/**
 * Detection waits this long for `/_ping`. A missing socket or a refused connection fails at once, so
 * only an engine that is there but busy (a host starting up, a loaded machine) is waited for: `auto`
 * must not quietly choose processes on a machine whose engine is merely slow.
 */
export const DETECT_TIMEOUT_MS = 5_000

export const DEFAULT_STOP_TIMEOUT_MS = 10_000
export const DEFAULT_CONFIG_MOUNT = '/app/conf'
export const DEFAULT_DATA_MOUNT = '/app/data'
export const ENV_CONFIG_DIR = 'PRYV_CONFIG_DIR'
export const ENV_DATA_DIR = 'PRYV_DATA_DIR'
/**
 * In each service's directory, the watch API's directory for that service only (src/watch): a
 * container mounts the directory, not the socket, so that it sees the socket the node makes again
 * when it restarts.
 */
export const WATCH_DIR = 'watch'
export const WATCH_SOCKET = 'watch/settings.sock'
/** Mode 0600: the watch API's loopback URL and the service's token. */
export const WATCH_FILE = 'watch/access.json'
/** Process backend: where the service finds them. */
export const ENV_WATCH_SOCKET = 'PRYV_WATCH_SOCKET'
export const ENV_WATCH_FILE = 'PRYV_WATCH_FILE'

export const DEFAULT_HEALTH = { intervalMs: 5_000, timeoutMs: 3_000, retries: 3, startPeriodMs: 0 } as const

/** Process backend: crash restarts wait initialMs · 2^n, up to maxMs; n resets after a run of resetAfterMs. */
export const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000 } as const
/** Process backend: output.log is rotated past this size, keeping LOG_FILES_KEPT older files. */
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
export const LOG_FILES_KEPT = 3

/** Followers poll the engine this often while a stopped container has not started again. */
export const FOLLOW_POLL_MS = 200
/** waitHealthy polls status this often. */
export const HEALTH_POLL_MS = 100
