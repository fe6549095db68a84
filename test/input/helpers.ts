// Helpers for the spec tests: parse and return the SpecError, or fail.
import { parseEnvironment } from "../../src/input/environment";
import { SpecError } from "../../src/input/errors";

export function specError(text: string, fileName = "environment.yml"): SpecError {
  try {
    parseEnvironment(fileName, text);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error("expected a SpecError, but the file parsed");
}

/** Each problem as `<line>: <message>`. */
export function problemLines(text: string): string[] {
  return specError(text).problems.map((p) => `${p.range?.start.line ?? "-"}: ${p.message}`);
}
