// biome-ignore-all lint/suspicious/noTemplateCurlyInString: strings are pryv templates.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { formatReleaseProblem, loadRelease, type ReleaseInvalidError } from '../../src/release/index.js'
import { cleanupTempDirs } from '../support/cli.js'
import { copyBundle, DEMO_1_1, editYaml, problemsOf, remove, writeText } from './helpers.js'

afterAll(cleanupTempDirs)

/** Each problem as `file field: message — fix`, the line the CLI prints. */
async function lines(dir: string): Promise<string[]> {
  return (await problemsOf(dir)).map(formatReleaseProblem)
}

describe('bad bundles: every problem, with its file, field and fix', () => {
  it('a directory without release.yaml is not a bundle (and release.yml is named)', async () => {
    const dir = copyBundle()
    remove(dir, 'release.yaml')
    await expect(loadRelease(dir)).rejects.toMatchObject({ code: 'PRYV_RELEASE_NOT_A_BUNDLE', exitCode: 3, message: `${dir} is not a release bundle: the directory has no release.yaml` })
    writeText(dir, 'release.yml', 'name: demo\n')
    await expect(loadRelease(dir)).rejects.toMatchObject({ code: 'PRYV_RELEASE_NOT_A_BUNDLE', hint: 'rename release.yml to release.yaml' })
  })

  it('a missing schema.yaml and invalid YAML (with line and column)', async () => {
    const dir = copyBundle()
    remove(dir, 'schema.yaml')
    writeText(dir, 'release.yaml', 'name: demo\nversion: 1.0.0\nservices:\n  demo-api: [unclosed\n')
    expect(await lines(dir)).toEqual([
      'release.yaml: invalid YAML at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ] — correct the YAML syntax (indentation, colons, quotes)',
      'schema.yaml: is missing — a bundle holds release.yaml, schema.yaml, templates/<service>/, files/, migrations/, and optionally release.sig and README.md'
    ])
  })

  it('invalid manifest fields, all at once', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.name = 'Demo!'
      m.version = '1.0'
      m.servces = m.services
      m.services['demo-api'].stopTimeoutMs = -1
      m.services['demo-api'].env = { PORT: 3000 }
      m.services['demo-api'].health.probe = { kind: 'ping' }
      m.services['demo-web'].dnsNames = ['Web_Site']
      m.services.Bad_Name = { args: ['x'] }
    })
    expect(await lines(dir)).toEqual([
      "release.yaml servces: unknown field 'servces' — did you mean 'services'? — remove it or use one of: name, version, description, services",
      "release.yaml name: 'Demo!' is not a valid release name — use lower-case letters, digits, \"-\" and \".\", starting with a letter",
      "release.yaml version: '1.0' is not a semantic version — write MAJOR.MINOR.PATCH, e.g. 1.2.0 (quote it if YAML reads it as a number)",
      'release.yaml services.demo-api.env.PORT: must be text, got 3000 — quote the value, e.g. PORT: "3000"',
      'release.yaml services.demo-api.health.probe.kind: must be command, http or tcp, got "ping" — write kind: command, kind: http or kind: tcp',
      'release.yaml services.demo-api.stopTimeoutMs: must be a whole number of milliseconds, got -1 — e.g. stopTimeoutMs: 10000',
      "release.yaml services.demo-web.dnsNames: 'Web_Site' is not a DNS label — use lower-case letters, digits and \"-\" (one label: the platform domain is added)",
      "release.yaml services.Bad_Name: 'Bad_Name' is not a valid service name — use lower-case letters, digits and \"-\", starting with a letter (at most 63 characters)",
      'release.yaml services.Bad_Name: has neither an image nor a command — give it an image (docker backend) or a command (process backend), or both'
    ])
  })

  it('images must be pinned: a tag other than latest, or a digest', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].image = 'localhost:5000/pryv/demo'
      m.services['demo-web'].image = 'pryvio/demo:latest'
    })
    expect(await lines(dir)).toEqual([
      "release.yaml services.demo-api.image: 'localhost:5000/pryv/demo' has no tag: it is not pinned — pin a version, e.g. localhost:5000/pryv/demo:1.2.3, or a digest (localhost:5000/pryv/demo@sha256:…)",
      "release.yaml services.demo-web.image: 'pryvio/demo:latest' uses the tag latest: it is not pinned — pin a version tag or a digest: every node must run the same image"
    ])
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].image = `pryvio/demo@sha256:${'a'.repeat(64)}`
      m.services['demo-web'].image = 'localhost:5000/pryv/demo:1.0.0'
    })
    await expect(loadRelease(dir)).resolves.toBeDefined()
  })

  it('dependsOn: unknown services, the service itself, cycles', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].dependsOn = ['demo-web', 'demo-db']
      m.services['demo-web'].dependsOn = ['demo-api', 'demo-web']
    })
    expect(await lines(dir)).toEqual([
      "release.yaml services.demo-api.dependsOn: unknown service 'demo-db' — did you mean 'demo-web'? — list services of this release (demo-api, demo-web)",
      'release.yaml services.demo-web.dependsOn: lists the service itself — remove demo-web from its dependsOn',
      'release.yaml services.demo-api.dependsOn: dependency cycle: demo-api → demo-web → demo-api — remove one of these dependencies: services start after the ones they depend on'
    ])
  })

  it('templates: of no service, outside conf/ and templates/, with unknown settings or settings the service does not consume', async () => {
    const dir = copyBundle()
    mkdirSync(join(dir, 'templates/demo-db/conf'), { recursive: true })
    writeText(dir, 'templates/demo-db/conf/db.json', '{}')
    writeText(dir, 'templates/demo-web/web.yml', 'a: 1')
    writeText(dir, 'templates/demo-web/conf/extra.txt', 'secret=${api.sessionSecret} level=${api.logLevl}')
    expect(await lines(dir)).toEqual([
      'templates/demo-web/web.yml: is not a service template — put templates at templates/<service>/conf/… or templates/<service>/templates/…',
      "templates/demo-db/: unknown service 'demo-db' — did you mean 'demo-web'? — name the directory after a service of release.yaml (demo-api, demo-web), or declare the service",
      "templates/demo-web/conf/extra.txt api.logLevl: unknown setting 'api.logLevl' — did you mean 'api.logLevel'? — use a key of schema.yaml (group.name)",
      "templates/demo-web/conf/extra.txt api.sessionSecret: uses 'api.sessionSecret', whose consumers do not include demo-web — add demo-web to the consumers of 'api.sessionSecret' in schema.yaml"
    ])
  })

  it('env values are checked like templates', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-web'].env = { TITLE: '${platform.nme}', SECRET: '${api.sessionSecret}' }
    })
    expect(await lines(dir)).toEqual([
      "release.yaml services.demo-web.env.TITLE: unknown setting 'platform.nme' — did you mean 'platform.name'? — use a key of schema.yaml (group.name)",
      "release.yaml services.demo-web.env.SECRET: uses 'api.sessionSecret', whose consumers do not include demo-web — add demo-web to the consumers of 'api.sessionSecret' in schema.yaml"
    ])
  })

  it('schema.yaml: malformed settings and the node\'s own dns group; then settings defineSchema refuses and consumers that are not services', async () => {
    const dir = copyBundle()
    editYaml(dir, 'schema.yaml', (s) => {
      s.groups.api.settings.port.defualt = 80
      s.groups.api.settings.logLevel.values = []
      s.groups.dns = { title: 'DNS', settings: {} }
    })
    expect(await lines(dir)).toEqual([
      "schema.yaml groups.dns: group 'dns' belongs to the node (its DNS server) and is added to every release's schema — remove the group from schema.yaml; its settings (`pryv-node config describe`) are there anyway",
      "schema.yaml groups.api.settings.port.defualt: unknown integer field 'defualt' — did you mean 'default'? — remove it or use one of: type, min, max, format, description, scope, consumers, default, nullable, secret, generate",
      'schema.yaml groups.api.settings.logLevel.values: must be a non-empty list of text — e.g. values: [error, warn, info]'
    ])
    editYaml(dir, 'schema.yaml', (s) => {
      delete s.groups.api.settings.port.defualt
      delete s.groups.dns
      s.groups.api.settings.logLevel.values = ['info']
      s.groups.api.settings.corsOrigins.consumers = ['demo-apo']
      s.groups.api.settings.timeout = { type: 'integer', min: 10, max: 1, default: 5, description: 'x', scope: 'platform', consumers: ['demo-api'] }
    })
    expect(await lines(dir)).toEqual([
      'schema.yaml api.timeout: min > max — correct the setting in schema.yaml (see src/config/schema.ts for the format)',
      "schema.yaml groups.api.settings.corsOrigins.consumers: unknown service 'demo-apo' — did you mean 'demo-api'? — list services of release.yaml (demo-api, demo-web)"
    ])
  })

  it('files outside the bundle format, symbolic links, text that is not UTF-8', async () => {
    const dir = copyBundle()
    writeText(dir, 'notes.txt', 'x')
    writeText(dir, 'schema.yml', 'x')
    symlinkSync('/etc/passwd', join(dir, 'files/passwd'))
    writeFileSync(join(dir, 'files/logo.png'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]))
    expect(await lines(dir)).toEqual([
      'files/passwd: is a symbolic link — put the file itself in the bundle: links are not followed',
      'notes.txt: is not part of the bundle format — remove it: a bundle holds release.yaml, schema.yaml, templates/<service>/, files/, migrations/, and optionally release.sig and README.md',
      'schema.yml: is not part of the bundle format — rename it to schema.yaml',
      'files/logo.png: is not UTF-8 text — bundles carry text files only: save it as UTF-8 (binary data belongs in the service image)'
    ])
  })

  it('{release}/files/… in a command must be in the bundle; {node} in a health probe needs a service without image', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].args = ['{release}/files/missing.mjs']
      m.services['demo-web'].health.probe = { kind: 'command', command: '{node}', args: ['-e', '0'] }
    })
    expect(await lines(dir)).toEqual([
      'release.yaml services.demo-api.args: uses {release}/files/missing.mjs, which is not in the bundle — add files/missing.mjs to the bundle, or correct the path',
      'release.yaml services.demo-web.health.probe: uses {node} or {release}, which exist only for the process backend, but the service has an image: with Docker the probe runs inside it — write a probe that works inside the image too (e.g. sh -c "…" with $PRYV_CONFIG_DIR or $PRYV_DATA_DIR)'
    ])
  })
})

describe('bad migrations', () => {
  it('a step that lands on a setting the release does not have, or with a bad value or layer', async () => {
    const dir = copyBundle(DEMO_1_1)
    editYaml(dir, 'migrations/1.0.0-to-1.1.0.yaml', (m) => {
      m.steps[0].to = 'platform.titel'
      m.steps.push({ op: 'add', key: 'api.port', value: 'eighty' })
      m.steps.push({ op: 'set-default', key: 'machine.listenIp', value: '127.0.0.1' })
      m.steps.push({ op: 'add', key: 'api.timeout', value: 5 }, { op: 'rename', from: 'api.timeout', to: 'api.timeoutMs' })
      m.steps.push({ op: 'add', key: 'api.gone', value: 1 }, { op: 'remove', key: 'api.gone' })
    })
    expect(await lines(dir)).toEqual([
      "migrations/1.0.0-to-1.1.0.yaml steps[0].to: 'platform.titel' is not a setting of demo 1.1.0: unknown setting 'platform.titel' — did you mean 'platform.title'? — use a key of schema.yaml, or remove or rename it in a later step",
      "migrations/1.0.0-to-1.1.0.yaml steps[2].value: 'api.port' must be a port number, got \"eighty\" — give a value of the setting's type (schema.yaml)",
      "migrations/1.0.0-to-1.1.0.yaml steps[3].layer: 'machine.listenIp' has scope machine and cannot be set in the platform values — write layer: machines",
      "migrations/1.0.0-to-1.1.0.yaml steps[5].to: 'api.timeoutMs' is not a setting of demo 1.1.0: unknown setting 'api.timeoutMs' — use a key of schema.yaml, or remove or rename it in a later step"
    ])
  })

  it('malformed files and steps, code that does not compile, a .js no step uses', async () => {
    const dir = copyBundle(DEMO_1_1)
    writeText(dir, 'migrations/1.1.0-to-1.0.0.yaml', 'from: 1.1.0\nto: 1.0.0\nsteps: []\n')
    writeText(dir, 'migrations/0.9.0-to-1.0.0.yaml', 'from: 0.9.0\nto: "1.0"\nsteps:\n  - op: move\n')
    writeText(dir, 'migrations/notes.md', 'x')
    writeText(dir, 'migrations/unused.js', 'return values')
    editYaml(dir, 'migrations/1.0.0-to-1.1.0.yaml', (m) => {
      m.steps[1].source = 'return values +'
      m.steps.push({ op: 'code', description: 'from a file', file: 'absent.js' })
    })
    expect(await lines(dir)).toEqual([
      'migrations/0.9.0-to-1.0.0.yaml to: must be a semantic version, got "1.0" — write MAJOR.MINOR.PATCH in quotes, e.g. "1.1.0"',
      'migrations/0.9.0-to-1.0.0.yaml steps[0].op: must be one of add, rename, remove, set-default, code, got "move" — give every step an op',
      "migrations/1.0.0-to-1.1.0.yaml steps[1].source: does not compile: Unexpected token '}' — write the body of a function (values, layer) that returns the new values object",
      'migrations/1.0.0-to-1.1.0.yaml steps[2].file: migrations/absent.js is not in the bundle — add the file next to the migration, or correct the name',
      'migrations/1.1.0-to-1.0.0.yaml to: 1.0.0 does not come after 1.1.0 — a migration goes from an older version to a newer one',
      'migrations/notes.md: is not a migration — name migrations migrations/<from>-to-<to>.yaml (e.g. 1.0.0-to-1.1.0.yaml); code steps may use .js files beside them',
      'migrations/unused.js: is used by no code step — refer to it from a migration step (op: code, file: …) or remove it'
    ])
  })

  it('a migration that leads nowhere near the release, or beyond it', async () => {
    const dir = copyBundle(DEMO_1_1)
    writeText(dir, 'migrations/0.8.0-to-0.9.0.yaml', 'from: 0.8.0\nto: 0.9.0\nsteps: []\n')
    writeText(dir, 'migrations/1.1.0-to-2.0.0.yaml', 'from: 1.1.0\nto: 2.0.0\nsteps: []\n')
    expect(await lines(dir)).toEqual([
      "migrations/0.8.0-to-0.9.0.yaml to: no migration leads from 0.9.0 to this release's version 1.1.0 — add migrations/0.9.0-to-1.1.0.yaml (or correct \"to\")",
      "migrations/1.1.0-to-2.0.0.yaml to: 2.0.0 comes after this release's version 1.1.0 — a bundle carries migrations up to its own version: remove it or correct \"to\""
    ])
  })

  it('a file name that does not match its versions', async () => {
    const dir = copyBundle(DEMO_1_1)
    writeText(dir, 'migrations/1.0.1-to-1.1.0.yaml', 'from: 1.0.0\nto: 1.1.0\nsteps: []\n')
    expect(await lines(dir)).toEqual([
      'migrations/1.0.1-to-1.1.0.yaml: the file name says 1.0.1 → 1.1.0 but the file says 1.0.0 → 1.1.0 — rename the file to migrations/1.0.0-to-1.1.0.yaml or correct from/to'
    ])
  })
})

describe('the error an operator sees', () => {
  it('lists every problem with a hint to verify again, and details for --json', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.version = 'one'
      m.services['demo-api'].image = 'x:latest'
    })
    const err = (await loadRelease(dir).catch((e: unknown) => e)) as ReleaseInvalidError
    expect(err.message).toBe(`release bundle ${dir} has 2 problems:\n  release.yaml version: 'one' is not a semantic version — write MAJOR.MINOR.PATCH, e.g. 1.2.0 (quote it if YAML reads it as a number)\n  release.yaml services.demo-api.image: 'x:latest' uses the tag latest: it is not pinned — pin a version tag or a digest: every node must run the same image`)
    expect(err.hint).toBe(`fix each problem in the file named before it, then check again with \`pryv-node release verify ${dir}\``)
    expect(err.toJSON().details).toMatchObject({ bundle: dir, problems: [{ file: 'release.yaml', field: 'version' }, { file: 'release.yaml', field: 'services.demo-api.image' }] })
  })
})
