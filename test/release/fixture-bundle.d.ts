/** Assembles the fixture `name` (e.g. `demo-1.1.0`) as a bundle directory under `parent`; returns its path. */
export function fixtureBundle(name: string, parent: string): string
