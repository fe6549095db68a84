// Planning a build from an environment.yml text and frontend options, for the stage tests.
import { parseBuildOptions } from "../../src/gateway/options";
import { parseEnvironment } from "../../src/input/environment";
import { SpecError } from "../../src/input/errors";
import { planBuild } from "../../src/plan/plan";

export const host = { OS: "linux", Architecture: "amd64" };

/** The options the daemon would send as "key=value" frontend options, on the host platform. */
export function planOptions(...options: string[]) {
  const env: Record<string, string> = {};
  options.forEach((o, i) => (env[`BUILDKIT_FRONTEND_OPT_${i}`] = o));
  return parseBuildOptions(env, host);
}

export function plan(text: string, ...options: string[]) {
  return planBuild(parseEnvironment("environment.yml", text), planOptions(...options));
}

export function planError(text: string, ...options: string[]): SpecError {
  try {
    plan(text, ...options);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error("expected a SpecError");
}
