/**
 * @packageDocumentation
 * The settings layer: one schema drives validation, defaults, help text and the admin-UI form model;
 * layers merge into effective settings; releases' templates render into each service's conf/.
 * Everything here is pure except write.ts (the file writer) and random.ts (the CSPRNG). Nothing logs.
 *
 * Applying a revision on a node:
 *
 *     const eff = effectiveSettings(schema, { base, platform, machine: machines[nodeId], env, cli })
 *     const files = renderService(templates, eff.values)          // per service
 *     const result = await writeRenderedFiles(serviceDir, files)  // per service
 *     restart(servicesToRestart({ [service]: result, ... }))
 */
export { applyChange, type ChangeTarget, type PlatformSettings, type SettingsChange, targetValues } from './change.js'
export { checkAssignment, scopeAllows } from './check.js'
export { coerceText } from './coerce.js'
export { type SchemaDescription, type SettingDescription, describeSchema, describeSchemaJson } from './describe.js'
export { type SettingDiff, diffSettings, restoreValues } from './diff.js'
export {
  type ConfigWriteCode,
  ConfigWriteError,
  formatProblem,
  type ProblemCode,
  SchemaDefinitionError,
  SettingsInvalidError,
  type SettingProblem,
  type SourceLocation,
  type TemplateProblem,
  type TemplateProblemCode,
  TemplateRenderError
} from './errors.js'
export {
  type EffectiveSettings,
  type Explanation,
  effectiveSettings,
  explain,
  LAYER_ORDER,
  type LayerName,
  type LayerValue,
  type SettingsLayers,
  type SettingsValues
} from './layers.js'
export { type ParsedLayer, settingsFromEnv, settingsFromSetArgs } from './local.js'
export { isSecret, maskSecrets, SECRET_MASK } from './mask.js'
export { cryptoRandomBytes } from './random.js'
export { checkReleaseTemplates } from './release-check.js'
export {
  type RenderedFiles,
  type RenderOutcome,
  renderService,
  renderServices,
  type ServiceTemplates,
  type TemplateFile,
  tryRenderService
} from './render.js'
export {
  defineSchema,
  envNameOf,
  type FieldSpec,
  type GroupDef,
  isRequired,
  type Schema,
  type SchemaDef,
  type SchemaGroup,
  type Scope,
  type SecretGenerator,
  type Setting,
  type SettingDef,
  type StringFormat,
  type TypeSpec
} from './schema.js'
export { demoSchema, demoSchemaDef } from './schemas/demo.js'
export { pryvIoSchema, pryvIoSchemaDef } from './schemas/pryv-io.js'
export { type GeneratedSecrets, generateMissingSecrets, generateSecret, type RandomBytes } from './secrets.js'
export { demoApiTemplates, demoTemplates, demoWebTemplates } from './templates/demo.js'
export { type ChangeValidation, type ValidateOptions, validateChange, validateLayer } from './validate.js'
export {
  MANIFEST_FILE,
  plannedChanges,
  type RenderManifest,
  readManifest,
  servicesToRestart,
  type WritePlan,
  type WriteResult,
  writeRenderedFiles
} from './write.js'
export { parseSettingsYaml } from './yaml-file.js'
