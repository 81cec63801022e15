/**
 * Orders strings by their UTF-16 code units, as `<` does: the order of every sort of names and keys
 * here (node, service and user names, record names, file paths), which no one reads as language.
 * Not `localeCompare`: it builds an ICU collator, about 2.5 MB resident per process. For lowercase
 * DNS labels (letters, digits, `-`) and hex the two orders agree, so nodes of different versions
 * still agree on an order derived from names (the canary of a rollout, the node that runs ACME).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
