/** What a systemd unit for a node needs to know about it. */
export interface NodeUnitInput {
  /** Absolute paths: the Node binary and pryv-node's bin script. */
  readonly node: string
  readonly bin: string
  readonly dataDir: string
  readonly user: string
  /** The node's name and platform domain, for the description. */
  readonly name: string
  readonly domain: string
  /** Supplementary groups that reach what the node uses (e.g. `docker` for the engine's socket). */
  readonly groups: readonly string[]
  /** The node serves DNS on a port below 1024 as a user other than root. */
  readonly bindsLowPorts: boolean
}

export const UNIT_NAME = 'pryv-node.service'

/** systemd quotes: a word with spaces or quotes in double quotes, `\` and `"` escaped. */
function word(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/**
 * The unit that runs `pryv-node start` on a data dir. The options the node was started with are kept
 * in the data dir, so the command line stays short. Hardened as far as the node allows: the file
 * system is read-only except the data dir; the Docker engine's socket stays reachable (connecting to
 * a socket is not a write to its file system) and V8's JIT needs writable-executable memory.
 */
export function renderNodeUnit(u: NodeUnitInput): string {
  const protectHome = /^\/(home|root|run\/user)(\/|$)/.test(u.dataDir) ? 'read-only' : 'yes'
  // A private /tmp would hide a data dir kept there.
  const privateTmp = /^\/(var\/)?tmp(\/|$)/.test(u.dataDir) ? 'no' : 'yes'
  const lines = [
    '# Written by `pryv-node service install`; `pryv-node service uninstall` removes it.',
    '[Unit]',
    `Description=pryv-node ${u.name}: a machine of the Pryv.io platform ${u.domain}`,
    'Wants=network-online.target',
    'After=network-online.target docker.service',
    '',
    '[Service]',
    'Type=simple',
    `User=${u.user}`,
    ...(u.groups.length > 0 ? [`SupplementaryGroups=${u.groups.join(' ')}`] : []),
    `ExecStart=${[u.node, u.bin, '--data-dir', u.dataDir, 'start'].map(word).join(' ')}`,
    // The node exits 70 on a fatal failure (its database cannot be written, an unexpected error):
    // restarted from disk. Exit codes 2–4 (usage, input, state conflicts) would fail again: not restarted.
    'Restart=on-failure',
    'RestartSec=5s',
    'RestartPreventExitStatus=2 3 4',
    // SIGTERM to the node only: it stops its child processes itself, then hands over leadership.
    'KillMode=mixed',
    'TimeoutStopSec=60s',
    'LimitNOFILE=65536',
    ...(u.bindsLowPorts ? ['AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE'] : []),
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    `ReadWritePaths=${word(u.dataDir)}`,
    `ProtectHome=${protectHome}`,
    `PrivateTmp=${privateTmp}`,
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'RestrictNamespaces=yes',
    'LockPersonality=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    ''
  ]
  return lines.join('\n')
}
