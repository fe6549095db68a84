// .dockerignore: one pattern a line, # comments, ! exceptions. BuildKit applies the patterns
// itself when it transfers the context; we only clean them up the way Docker does.
import { posix } from "node:path";

export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let negate = false;
    if (line.startsWith("!")) {
      negate = true;
      line = line.slice(1).trim();
    }
    let clean = posix.normalize(line);
    clean = clean.replace(/^\/+/, "");
    if (clean === "" || clean === ".") continue;
    out.push((negate ? "!" : "") + clean);
  }
  return out;
}
