// A path app.copy reads from a named build context that is not there. BuildKit words it as a
// failed checksum of an anonymous ref ("failed to calculate checksum of ref <id>: "/static": not
// found"), which names neither the context nor the line; the user wrote both.
import { SpecError } from "../input/errors";
import { RpcError } from "../gateway/transport";
import type { BuildPlan } from "../plan/plan";
import type { InputFile } from "./inputs";

/** The app.copy entry of a named context whose path BuildKit did not find, if the message is that. */
export function missingContextPath(message: string, plan: Pick<BuildPlan, "appCopy">): { message: string; entry: BuildPlan["appCopy"][number] } | undefined {
  const m = /"\/([^"]*)": not found/.exec(message);
  if (!m) return undefined;
  const path = m[1] === "" ? "." : m[1];
  const matching = plan.appCopy.filter((c) => c.value === path);
  const contexts = new Set(matching.map((c) => c.from));
  // Only when the path is read from one named context and nowhere else: otherwise we cannot tell which was missing.
  const [only] = [...contexts];
  if (contexts.size !== 1 || only === undefined) return undefined;
  return { message: `image.app.copy: /${m[1]} is not in build context ${JSON.stringify(only)}`, entry: matching[0]! };
}

/**
 * The app.copy entry reading an OCI layout context when BuildKit has no OCI layout source
 * (Docker's classic image store answers "unknown scheme oci-layout"), if the message is that.
 */
export function unreadableOciContext(message: string, plan: Pick<BuildPlan, "appCopy" | "contexts">): { message: string; entry: BuildPlan["appCopy"][number] } | undefined {
  if (!/unknown scheme oci-layout/.test(message)) return undefined;
  const entry = plan.appCopy.find((c) => c.from !== undefined && plan.contexts?.[c.from]?.kind === "oci-layout");
  if (!entry) return undefined;
  return { message: `image.app.copy: build context ${JSON.stringify(entry.from)} is an OCI layout folder, which this daemon cannot read (Docker's classic image store has no OCI layout source); use the containerd image store, or push the image to a registry and pass docker-image://<ref>`, entry };
}

/** `e` as an error at the app.copy line when it is a path missing from a named context or an unreadable one, else `e` itself. */
export function explainContextCopyFailure(e: unknown, plan: BuildPlan, input: InputFile): unknown {
  if (!(e instanceof RpcError) || !plan.contexts) return e;
  const found = missingContextPath(e.message, plan) ?? unreadableOciContext(e.message, plan);
  return found ? new SpecError(input, [{ message: found.message, range: found.entry.range }]) : e;
}
