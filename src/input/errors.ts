// Errors in the user's input that belong to a place in a file. They carry the ranges so the
// gateway can attach BuildKit's source detail and buildx prints the file with the line marked.
import type { SourceFile, SourceRange } from "./source";

export interface Problem {
  message: string;
  range?: SourceRange;
}

export class SpecError extends Error {
  constructor(
    readonly file: SourceFile | { name: string; text?: string },
    readonly problems: Problem[],
  ) {
    super(SpecError.format(file.name, problems));
    this.name = "SpecError";
  }

  static format(fileName: string, problems: Problem[]): string {
    return problems
      .map((p) => (p.range ? `${fileName}:${p.range.start.line}: ${p.message}` : `${fileName}: ${p.message}`))
      .join("\n");
  }

  get ranges(): SourceRange[] {
    return this.problems.flatMap((p) => (p.range ? [p.range] : []));
  }
}

/** Shows a value the way the user wrote it, shortened: `[1, 2]`, `"abc"`. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (Array.isArray(value)) text = "[" + value.map(show).join(", ") + "]";
  else if (value && typeof value === "object") text = "{" + Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(", ") + "}";
  else text = String(value);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
