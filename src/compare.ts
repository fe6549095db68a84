// Byte-order string comparison. Orders that reach a digest, a layer or a file must not depend on
// the locale of whoever runs the build (localeCompare does).
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
