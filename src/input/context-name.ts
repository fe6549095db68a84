// What a named build context's name may be (`--build-context NAME=...`, `from: NAME` in
// image.app.copy). The name goes into a source op as a local's name: no paths, no option syntax.
const contextName = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isContextName(name: string): boolean {
  return contextName.test(name);
}
