// The input file and positions inside it. Lines are 1-based and characters 0-based, the way
// BuildKit's source-mapped errors print them.

export interface Position {
  line: number;
  character: number;
}

export interface SourceRange {
  start: Position;
  end: Position;
}

export interface SourceFile {
  /** The name the user knows the file by (environment.yml, or the -f argument's basename). */
  name: string;
  text: string;
  /** Offset of the first character of each line. */
  lineStarts: number[];
}

export function sourceFile(name: string, text: string): SourceFile {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  return { name, text, lineStarts };
}

export function positionAt(file: SourceFile, offset: number): Position {
  let lo = 0;
  let hi = file.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (file.lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, character: offset - file.lineStarts[lo]! };
}

export function rangeOf(file: SourceFile, start: number, end: number): SourceRange {
  return { start: positionAt(file, start), end: positionAt(file, Math.max(start, end)) };
}

export function lineRange(line: number): SourceRange {
  return { start: { line, character: 0 }, end: { line, character: 0 } };
}

/** A value together with where it was written. */
export interface Located<T> {
  value: T;
  range: SourceRange;
}
