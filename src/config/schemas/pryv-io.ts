import { certsSettingsGroup } from './certs.js'
import { defineSchema, type Schema, type SchemaDef, type Scope, type SecretGenerator, type SettingDef, type TypeSpec } from '../schema.js'
import { backupSettingsGroup, storageSettingsGroup } from './node-storage.js'

/**
 * The Pryv.io platform settings: v1's platform.yml groups (pryv-v1-and-v2.md §3) and the leader's
 * `internals`, renamed to `group.name`. Secrets are generated at init instead of REPLACE_ME. Per-role IP
 * settings (REG_MASTER_IP_ADDRESS, HOSTINGS_AND_CORES…) become per-machine settings, because every node
 * plays every role. Mail body templates (pug) are release templates, not settings.
 */

/** Services of the Pryv.io release that consume settings. */
const CORE = 'core'
// The user registry is served by the node itself (src/registry), no longer by a register service.
const REGISTER = 'node-registry'
const DNS = 'node-dns'
const MAIL = 'mail'
const PROXY = 'reverse-proxy'
const AUTH_APP = 'app-web-auth'
const ADMIN = 'admin'

interface Meta {
  readonly description: string
  readonly consumers: readonly string[]
  readonly scope?: Scope
  readonly default?: unknown
  readonly nullable?: true
}

function setting(type: TypeSpec, meta: Meta): SettingDef {
  return { ...type, ...meta, scope: meta.scope ?? 'platform' } as SettingDef
}

function secret(generate: SecretGenerator | undefined, meta: Meta, type: TypeSpec = { type: 'string' }): SettingDef {
  return { ...setting(type, meta), secret: true, ...(generate ? { generate } : {}) } as SettingDef
}

const KEY_32: SecretGenerator = { kind: 'random', bytes: 32, encoding: 'base64url' }
const HEX_24: SecretGenerator = { kind: 'random', bytes: 24, encoding: 'hex' }

const str: TypeSpec = { type: 'string' }
const url: TypeSpec = { type: 'string', format: 'url' }
const bool: TypeSpec = { type: 'boolean' }
const hostname: TypeSpec = { type: 'string', format: 'hostname' }
const ipv4: TypeSpec = { type: 'string', format: 'ipv4' }
const ip: TypeSpec = { type: 'string', format: 'ip' }
const cidr: TypeSpec = { type: 'string', format: 'cidr' }
const json: TypeSpec = { type: 'json' }
const int = (min: number, max?: number): TypeSpec => ({ type: 'integer', min, max })
const listOf = (items: TypeSpec): TypeSpec => ({ type: 'list', items })
const languages: TypeSpec = { type: 'map', values: str }
const auditFilter = { methods: { include: ['all'], exclude: [] } }
const integrity: TypeSpec = { type: 'object', fields: { isActive: bool, algorithm: { type: 'enum', values: ['sha256', 'sha512'] } } }

/**
 * Settings of the DNS server every node runs (consumed by the node itself, not by a service): part of
 * every release's schema, so that the zone can be built the same way on every platform.
 */
export const dnsSettingsGroup: SchemaDef['groups'][string] = {
  title: 'DNS',
  settings: {
    ttl: setting(int(1, 604800), { description: 'TTL of every record the platform serves, in seconds.', consumers: [DNS], default: 300 }),
    aliasDomains: setting(listOf(hostname), {
      description: 'Other domains answered like the main one (legacy names): the same names and users under each; user names point at the cores under the main domain.',
      consumers: [DNS],
      default: []
    }),
    nameServers: setting(listOf({ type: 'object', fields: { name: hostname, ip: ipv4 } }), {
      description: 'NS records and glue for the domain; [] = every full node by its own name, <node>.<domain>, with its addresses as glue.',
      consumers: [DNS],
      default: []
    }),
    rootA: setting(listOf(ipv4), { description: 'A records of the bare domain; [] = every node.', consumers: [DNS], default: [] }),
    rootTxt: setting(listOf(str), { description: 'TXT records of the bare domain (SPF, site verification).', consumers: [DNS], default: [] }),
    mx: setting(
      listOf({ type: 'object', fields: { name: hostname, ip: { ...ipv4, optional: true }, priority: int(0, 65535), ttl: { ...int(1, 604800), optional: true } } }),
      { description: 'MX records of the domain.', consumers: [DNS], default: [] }
    ),
    caaIssuer: setting(hostname, { description: 'Certificate authority allowed in the CAA record.', consumers: [DNS], default: 'letsencrypt.org' }),
    weight: setting(int(0, 1000), {
      description: 'Share of the weighted service names (reg, sw, …) this node answers for; 0 drains it. Set per machine.',
      consumers: [DNS],
      scope: 'both',
      default: 1
    }),
    subsetSize: setting(int(1, 16), { description: 'How many nodes one answer for a weighted service name holds.', consumers: [DNS], default: 1 }),
    customEntries: setting(json, {
      description: 'Extra static entries: { "<label>": { ip | alias | description | mail | nameserver } } (service-register format).',
      consumers: [DNS],
      default: {}
    }),
    // ----- facing the internet (issue 18): response rate limiting, UDP size, TCP limits; applied without a restart
    rateLimit: setting(int(0, 1_000_000), {
      description:
        'Response rate limit: UDP answers per second to one client prefix for one name (all its NXDOMAIN count as one name, all its errors as another). Over it, 1 in dns.rateLimitSlip is sent truncated (the client retries over TCP) and the rest are dropped. 0 = off.',
      consumers: [DNS],
      default: 200
    }),
    rateLimitSlip: setting(int(0, 100), { description: 'Of the answers over dns.rateLimit, 1 in this many is sent truncated; 0 = drop them all.', consumers: [DNS], default: 2 }),
    rateLimitIpv4Prefix: setting(int(8, 32), { description: 'IPv4 clients are rate-limited together by this prefix length.', consumers: [DNS], default: 24 }),
    rateLimitIpv6Prefix: setting(int(32, 128), { description: 'IPv6 clients are rate-limited together by this prefix length.', consumers: [DNS], default: 64 }),
    rateLimitExempt: setting(listOf(cidr), {
      description: 'Addresses or prefixes never rate-limited (e.g. "192.0.2.53", "198.51.100.0/24", "2001:db8::/48": the platform\'s or a partner\'s resolvers).',
      consumers: [DNS],
      default: []
    }),
    maxUdpPayload: setting(int(512, 4096), {
      description: 'EDNS UDP payload size advertised, and the largest UDP answer sent (to a question without EDNS: 512). Bigger answers are truncated; the client retries over TCP.',
      consumers: [DNS],
      default: 1232
    }),
    tcpIdleTimeout: setting(int(1, 300), { description: 'Seconds an idle DNS TCP connection is kept open.', consumers: [DNS], default: 10 }),
    tcpConnectionsPerSource: setting(int(1, 1000), { description: 'Open DNS TCP connections one client address may hold; more are closed at once.', consumers: [DNS], default: 10 }),
    weightedTtl: setting(int(1, 86400), {
      description:
        'TTL of the answers for weighted service names (reg, sw, …) and for the bare domain without dns.rootA, in seconds: short, so that resolvers draw again soon and a dead node leaves their caches quickly.',
      consumers: [DNS],
      default: 30
    })
  }
}

export const pryvIoSchemaDef: SchemaDef = {
  name: 'pryv.io',
  groups: {
    platform: {
      title: 'Platform',
      settings: {
        domain: setting(hostname, {
          description: 'Platform domain; user accounts are reached at <username>.<domain>.',
          consumers: [CORE, REGISTER, DNS, MAIL, PROXY, AUTH_APP, ADMIN]
        }),
        licenseName: setting(str, { description: 'Name the platform reports under.', consumers: [CORE, REGISTER], default: 'pryv.io' }),
        hostings: setting(
          { type: 'map', values: { type: 'object', fields: { name: str, description: { ...str, optional: true }, url: { ...url, optional: true } } } },
          {
            description: 'Hostings offered to new users (display data); nodes join one with machine.hosting.',
            consumers: [REGISTER],
            default: { default: { name: 'Default', description: 'Default hosting' } }
          }
        )
      }
    },
    machine: {
      title: 'This machine',
      description: 'Set per node: `pryv-node config set --machine NODE …`.',
      settings: {
        publicIp: setting(ipv4, {
          description: "Node's public IPv4 address, published in DNS for its core and the platform services.",
          consumers: [DNS, CORE, REGISTER],
          scope: 'machine'
        }),
        publicIpv6: setting(ip, { description: "Node's public IPv6 address (AAAA records), if any.", consumers: [DNS], scope: 'machine', default: null, nullable: true }),
        dnsListenIp: setting(ip, {
          description: 'Interface the DNS server binds to on port 53 (when the public IP is not on a local interface).',
          consumers: [DNS],
          scope: 'machine',
          default: '0.0.0.0'
        }),
        hosting: setting(
          { type: 'string', pattern: '[a-z0-9][a-z0-9-]*' },
          { description: 'Hosting (key of platform.hostings) whose users this node serves.', consumers: [REGISTER, CORE], scope: 'machine', default: 'default' }
        )
      }
    },
    api: {
      title: 'API',
      settings: {
        eventTypesUrl: setting(url, { description: 'URL of the event types definition (JSON).', consumers: [CORE], default: 'https://pryv.github.io/event-types/flat.json' }),
        trustedApps: setting(listOf(str), {
          description: 'Apps allowed to log in, as appId@origin patterns with * wildcards (*@https://*.<domain>* is always added).',
          consumers: [CORE],
          default: ['*@https://pryv.github.io*', '*@http://localhost*']
        }),
        defaultAuthUrl: setting(url, { description: 'Authentication page; null = https://sw.<domain>/access/access.html.', consumers: [REGISTER, CORE], default: null, nullable: true }),
        trustedAuthUrls: setting(listOf(url), { description: 'Other authentication pages apps may use.', consumers: [REGISTER], default: [] }),
        passwordResetUrl: setting(url, { description: 'Password reset page; null = the one served by app-web-auth.', consumers: [CORE, MAIL], default: null, nullable: true }),
        maxUploadSizeMb: setting(int(1, 10240), { description: 'Largest attachment upload, in MB.', consumers: [CORE, PROXY], default: 10 }),
        disableGetUsernameByEmail: setting(bool, { description: 'Hide the email -> username lookup route.', consumers: [REGISTER], default: false }),
        accountDeletion: setting(
          listOf({ type: 'enum', values: ['adminToken', 'personalToken'] }),
          { description: 'Who may delete accounts: an admin (adminToken) and/or the user (personalToken).', consumers: [CORE, ADMIN], default: ['adminToken'] }
        ),
        invitationTokens: setting(listOf(str), {
          description: 'Tokens required to create an account: null = open registration, [] = closed.',
          consumers: [REGISTER],
          default: null,
          nullable: true
        }),
        integrity: setting(
          { type: 'object', fields: { events: integrity, attachments: integrity, accesses: integrity } },
          {
            description: 'Integrity hashing per data type.',
            consumers: [CORE],
            default: {
              events: { isActive: true, algorithm: 'sha256' },
              attachments: { isActive: true, algorithm: 'sha256' },
              accesses: { isActive: true, algorithm: 'sha256' }
            }
          }
        )
      }
    },
    serviceInfo: {
      title: 'Service information',
      description: 'What /service/info tells apps.',
      settings: {
        platformName: setting({ type: 'string', minLength: 1, maxLength: 80 }, { description: 'Platform name shown to users.', consumers: [CORE, REGISTER, AUTH_APP, MAIL], default: 'Pryv.io' }),
        supportUrl: setting(url, { description: 'Support page.', consumers: [CORE, REGISTER], default: 'https://pryv.com/helpdesk' }),
        termsOfUseUrl: setting(url, { description: 'Terms of use page.', consumers: [CORE, REGISTER, AUTH_APP], default: 'https://pryv.com/terms-of-use/' }),
        assetsUrl: setting(url, { description: 'Branding assets (index.json); null = the default assets.', consumers: [CORE, REGISTER, AUTH_APP], default: null, nullable: true })
      }
    },
    dns: dnsSettingsGroup,
    certs: certsSettingsGroup,
    storage: storageSettingsGroup,
    backup: backupSettingsGroup,
    email: {
      title: 'Email',
      settings: {
        welcomeEnabled: setting(bool, { description: 'Send a welcome email on registration.', consumers: [CORE, MAIL], default: true }),
        resetPasswordEnabled: setting(bool, { description: 'Send password reset emails.', consumers: [CORE, MAIL], default: true }),
        senderName: setting(str, { description: 'Sender display name.', consumers: [MAIL], default: 'Pryv.io' }),
        senderAddress: setting({ type: 'string', format: 'email' }, { description: 'Sender address; null = no email is sent.', consumers: [MAIL], default: null, nullable: true }),
        method: setting({ type: 'enum', values: ['smtp', 'sendmail'] }, { description: 'How mail leaves the platform.', consumers: [MAIL], default: 'smtp' }),
        smtpHost: setting(hostname, { description: 'SMTP server.', consumers: [MAIL], default: null, nullable: true }),
        smtpPort: setting({ type: 'integer', format: 'port' }, { description: 'SMTP port.', consumers: [MAIL], default: 587 }),
        smtpSecure: setting(bool, { description: 'TLS from the start (port 465) rather than STARTTLS.', consumers: [MAIL], default: false }),
        smtpUser: setting(str, { description: 'SMTP user name.', consumers: [MAIL], default: null, nullable: true }),
        smtpPassword: secret(undefined, { description: 'SMTP password.', consumers: [MAIL], default: null, nullable: true }),
        sendmailPath: setting(str, { description: 'sendmail binary, for method sendmail.', consumers: [MAIL], default: '/usr/sbin/sendmail' }),
        defaultLanguage: setting({ type: 'enum', values: ['en', 'fr', 'de'] }, { description: 'Language used when the user has none.', consumers: [MAIL], default: 'en' })
      }
    },
    emailTemplates: {
      title: 'Email templates',
      description: 'Subjects per language; bodies are pug templates shipped with the release.',
      settings: {
        welcomeSubject: setting(languages, {
          description: 'Welcome email subject, by language.',
          consumers: [MAIL],
          default: { en: 'Welcome to Pryv.io', fr: 'Bienvenue sur Pryv.io', de: 'Willkommen bei Pryv.io' }
        }),
        resetPasswordSubject: setting(languages, {
          description: 'Password reset email subject, by language.',
          consumers: [MAIL],
          default: { en: 'Reset your password', fr: 'Réinitialisez votre mot de passe', de: 'Passwort zurücksetzen' }
        })
      }
    },
    mfa: {
      title: 'Multi-factor authentication',
      settings: {
        mode: setting({ type: 'enum', values: ['disabled', 'challenge-verify', 'single'] }, { description: 'MFA flow.', consumers: [CORE, AUTH_APP], default: 'disabled' }),
        sessionTtlSeconds: setting(int(60, 86400), { description: 'Lifetime of a pending MFA session.', consumers: [CORE], default: 1800 }),
        endpoints: secret(undefined, { description: 'SMS provider calls (URLs, headers incl. authorization, bodies).', consumers: [CORE], default: null, nullable: true }, json)
      }
    },
    auth: {
      title: 'Sessions and passwords',
      settings: {
        sessionMaxAgeSeconds: setting(int(60), { description: 'Idle lifetime of a personal session.', consumers: [CORE], default: 1209600 }),
        passwordResetMaxAgeSeconds: setting(int(60), { description: 'Validity of a password reset link.', consumers: [CORE], default: 3600 }),
        passwordMinLength: setting(int(4, 256), { description: 'Minimum password length.', consumers: [CORE, AUTH_APP], default: 6 }),
        passwordMinCategories: setting(int(1, 4), { description: 'Character categories required (lower, upper, digit, other).', consumers: [CORE, AUTH_APP], default: 1 }),
        passwordAgeMinDays: setting(int(0), { description: 'Days before a password may be changed again (0 = any time).', consumers: [CORE], default: 0 }),
        passwordAgeMaxDays: setting(int(0), { description: 'Days after which a password expires (0 = never).', consumers: [CORE], default: 0 }),
        passwordReuseHistory: setting(int(0), { description: 'Previous passwords that cannot be reused (0 = no check).', consumers: [CORE], default: 0 })
      }
    },
    advancedApi: {
      title: 'Advanced API',
      settings: {
        updatesIgnoreProtectedFields: setting(bool, { description: 'Ignore, instead of refusing, updates of read-only fields.', consumers: [CORE], default: false }),
        webhooks: setting(
          { type: 'object', fields: { minIntervalMs: int(0), maxRetries: int(0, 100), runsSize: int(1, 10000) } },
          { description: 'Webhook throttling, retries and history size.', consumers: [CORE], default: { minIntervalMs: 5000, maxRetries: 5, runsSize: 50 } }
        ),
        versioning: setting(
          { type: 'object', fields: { forceKeepHistory: bool, deletionMode: { type: 'enum', values: ['keep-nothing', 'keep-authors', 'keep-everything'] } } },
          { description: 'Event history kept on update and deletion.', consumers: [CORE], default: { forceKeepHistory: false, deletionMode: 'keep-nothing' } }
        ),
        customAuthFunction: setting(str, { description: 'JavaScript of a custom access check run by cores; null = none.', consumers: [CORE], default: null, nullable: true }),
        customDataStores: setting(listOf(json), { description: 'Extra data store modules loaded by cores.', consumers: [CORE], default: [] }),
        accountSystemStreams: setting(listOf(json), { description: 'Extra account fields (system streams) beyond the built-in ones.', consumers: [CORE, REGISTER], default: [] }),
        otherSystemStreams: setting(listOf(json), { description: 'Other system streams.', consumers: [CORE], default: [] }),
        backwardCompatibilitySystemStreamsPrefix: setting(bool, { description: "Keep the old '.' prefix of system stream ids.", consumers: [CORE], default: false }),
        backwardCompatibilityTags: setting(bool, { description: 'Keep accepting event tags (converted to streams).', consumers: [CORE], default: false })
      }
    },
    audit: {
      title: 'Audit',
      description: 'May differ per node (e.g. a hospital running its own cores).',
      settings: {
        storageFilter: setting(json, { description: 'API methods whose calls are stored in the audit log.', consumers: [CORE], scope: 'both', default: auditFilter }),
        syslogFilter: setting(json, { description: 'API methods whose calls are sent to syslog.', consumers: [CORE], scope: 'both', default: auditFilter }),
        syslogTemplate: setting(str, { description: 'Syslog line format.', consumers: [CORE], scope: 'both', default: '{userid} {type} createdBy:{createdBy} {content}' }),
        syslogLevel: setting({ type: 'enum', values: ['error', 'warning', 'notice', 'info'] }, { description: 'Syslog level of audit lines.', consumers: [CORE], scope: 'both', default: 'notice' })
      }
    },
    observability: {
      title: 'Logs',
      settings: {
        logLevel: setting({ type: 'enum', values: ['error', 'warn', 'info', 'debug'] }, { description: 'Service log verbosity.', consumers: [CORE, REGISTER, MAIL], scope: 'both', default: 'info' }),
        logRotationActive: setting(bool, { description: 'Rotate service logs.', consumers: [CORE, REGISTER, MAIL, PROXY], scope: 'both', default: true }),
        logRotationDays: setting(int(1, 365), { description: 'Days of logs kept.', consumers: [CORE, REGISTER, MAIL, PROXY], scope: 'both', default: 14 })
      }
    },
    internals: {
      title: 'Internal keys',
      description: 'Generated at init; rotate with `pryv-node config set` (services restart).',
      settings: {
        registerAdminKey: secret(
          HEX_24,
          { description: "Register's admin-role key.", consumers: [REGISTER, ADMIN] },
          { type: 'string', pattern: '[A-Za-z0-9]{20,50}' }
        ),
        registerSystemKey: secret(KEY_32, { description: 'Key cores use to call register.', consumers: [REGISTER, CORE, ADMIN] }),
        coreSystemKey: secret(KEY_32, { description: "Cores' system-role key (register and admin calls).", consumers: [CORE, REGISTER, ADMIN] }),
        coreMailKey: secret(KEY_32, { description: 'Key cores use to call the mail service.', consumers: [CORE, MAIL] }),
        ssoCookieSignSecret: secret(KEY_32, { description: 'Signs SSO cookies.', consumers: [CORE] }),
        filesReadTokenSecret: secret(KEY_32, { description: 'Signs attachment read tokens.', consumers: [CORE] }),
        adminTokenSecret: secret(KEY_32, { description: 'Signs admin app sessions.', consumers: [ADMIN] })
      }
    }
  }
}

export const pryvIoSchema: Schema = defineSchema(pryvIoSchemaDef)
