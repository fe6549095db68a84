// The frontend's side of solving: pick the lock (given, or solved in a build step), check it
// against environment.yml, and turn solver failures into errors at the right lines.
import { subdirOf, glibcFromDpkgStatus } from "../conda/virtual-packages";
import type { SolveRequest, SolveResult } from "../conda/solve-request";
import type { Bridge } from "../gateway/bridge";
import type { BuildOptions } from "../gateway/options";
import { marshal, type State } from "../llb";
import type { PbPlatform, PbSourceInfo } from "../llb/pb";
import { formatPlatform } from "../llb/platform";
import { SpecError } from "../input/errors";
import type { Lock } from "../input/lock";
import { readAnyLock } from "../input/input-spec";
import { lineRange } from "../input/source";
import type { LockPlan, ToolImage } from "../plan/image-plan";
import type { BuildPlan } from "../plan/plan";
import { solveRequest } from "../plan/lock-request";
import { lockProblems } from "../plan/lock-check";
import type { NamedContext } from "../plan/contexts";
import { namedContextState } from "../stages/contexts";
import { solveStage } from "../stages/solve";
import { readBesideInput, type InputFile } from "./inputs";

const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8");

function refreshHint(plan: BuildPlan, input: InputFile): string {
  return `refresh it with: docker buildx build -f ${input.name} --target lock --output type=local,dest=. --platform ${plan.platforms.map(formatPlatform).join(",")} .`;
}

/** The lock given by the user, if any: LOCKFILE, image.lockfile, or conda-lock.yml beside the file. */
export async function givenLock(bridge: Bridge, opts: BuildOptions, plan: BuildPlan, input: InputFile): Promise<LockPlan | undefined> {
  const named = plan.conda.lockfile;
  let bytes: Uint8Array | undefined;
  let fileName = "conda-lock.yml";
  if (named) {
    const context = named.context !== undefined ? plan.contexts?.[named.context] : undefined;
    bytes = context ? await readInContext(bridge, opts, plan, named.context!, context, named.path) : await readBesideInput(bridge, opts, named.path);
    fileName = named.path;
    const where = context ? `in build context ${JSON.stringify(named.context)}` : `beside ${input.name}`;
    if (!bytes) throw new SpecError(input, [{ message: `${named.origin}: cannot find the lock file ${JSON.stringify(named.path)} ${where}`, range: named.range }]);
  } else if (input.conventionalLock) {
    bytes = input.conventionalLock;
    fileName = input.conventionalLockName;
  }
  if (!bytes) return undefined;
  const lock = readAnyLock(fileName, utf8(bytes), plan.platforms.map((p) => subdirOf(p)), opts.buildArgs);
  checkLock(lock, fileName, plan, input);
  return { lock, fileName };
}

/** A file in a named build context (the lock's): only that path is sent of a folder. */
async function readInContext(bridge: Bridge, opts: BuildOptions, plan: BuildPlan, name: string, context: NamedContext, path: string): Promise<Uint8Array | undefined> {
  const clean = path.replace(/^(\.\/)+/, "");
  const state = namedContextState(name, context, { platform: plan.platforms[0]!, sessionId: opts.sessionId, include: [clean], resolveMode: opts.imageResolveMode });
  const ref = await bridge.solve(marshal(state, { caps: bridge.llbCaps }), { evaluate: true });
  return bridge.readFile(ref, clean).catch(() => undefined);
}

/** A lock must cover every platform built and must have been made from this environment.yml (plan/lock-check.ts). */
export function checkLock(lock: Lock, fileName: string, plan: BuildPlan, input: InputFile): void {
  const problems = lockProblems(lock, fileName, plan, input.name, refreshHint(plan, input));
  if (problems.length) throw new SpecError(input, problems);
}

/** glibc of the base image, from dpkg's records (distroless keeps them in status.d). */
export async function baseGlibc(bridge: Bridge, base: State): Promise<string | undefined> {
  try {
    const ref = await bridge.solve(marshal(base, { caps: bridge.llbCaps }), { evaluate: true });
    const texts = await Promise.all(["/var/lib/dpkg/status.d/libc6", "/var/lib/dpkg/status"].map((path) => bridge.readFile(ref, path).then(utf8, () => undefined)));
    for (const text of texts) {
      const version = text ? glibcFromDpkgStatus(text) : undefined;
      if (version) return version;
    }
  } catch {
    // Unreadable base: the documented default applies.
  }
  return undefined;
}

export interface SolveInputs {
  /** Resolved while the base images are read. */
  tool: Promise<ToolImage>;
  platforms: PbPlatform[];
  /** The base image of a platform, to read its glibc from; only asked when the user set none. */
  base(platform: PbPlatform): Promise<State>;
}

function glibcIsSet(plan: BuildPlan): boolean {
  return plan.conda.overrides.GLIBC !== undefined || plan.conda.virtualPackages.__glibc !== undefined;
}

/** Solves in a build step and reads the lock back. */
export async function solvedLock(bridge: Bridge, opts: BuildOptions, plan: BuildPlan, input: InputFile, sourceInfo: PbSourceInfo, inputs: SolveInputs): Promise<LockPlan> {
  const [platforms, tool] = await Promise.all([
    Promise.all(inputs.platforms.map(async (platform) => ({ platform, baseGlibc: glibcIsSet(plan) ? undefined : await baseGlibc(bridge, await inputs.base(platform)) }))),
    inputs.tool,
  ]);
  const request = solveRequest(plan.conda, platforms, input.name);
  const result = await runSolveStep(bridge, plan, input, sourceInfo, tool, request);
  if (!result.ok) throw solveFailure(plan, input, result);
  // The lock as the step wrote it to conda-lock.yml (which --target lock returns), in JSON.
  if (!result.lock?.packages) throw new Error("the solve step reported success but gave no lock");
  return { lock: result.lock, solve: request, fileName: "conda-lock.yml" };
}

/** Runs a solve step and reads its result; a channel it could not reach fails the build at channels:. */
export async function runSolveStep(bridge: Bridge, plan: BuildPlan, input: InputFile, sourceInfo: PbSourceInfo, tool: ToolImage, request: SolveRequest): Promise<SolveResult> {
  const out = solveStage({ tool, request, network: plan.network, ignoreCache: plan.ignoreCache });
  let ref: string;
  try {
    ref = await bridge.solve(marshal(out, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo }), { evaluate: true });
  } catch (e) {
    // Exit 1 is the tool's "could not reach a channel": its own message is in the step's log.
    throw new SpecError(input, [{ message: `solving failed (the solve step's output above says why): ${(e as Error).message}`, range: plan.conda.channelsRange ?? lineRange(1) }]);
  }
  return JSON.parse(utf8(await bridge.readFile(ref, "/result.json"))) as SolveResult;
}

function solveFailure(plan: BuildPlan, input: InputFile, result: Extract<SolveResult, { ok: false }>): SpecError {
  // Point at every requested spec the solver's explanation names.
  const named = plan.conda.specs.filter((s) => new RegExp(`(^|[^A-Za-z0-9_.-])${s.value.name.replace(/[.+]/g, "\\$&")}([^A-Za-z0-9_.-]|$)`, "i").test(result.message));
  const what = result.kind === "invalid-spec" ? "invalid package spec" : "cannot solve the environment";
  const message = `${what} for ${result.platform}${named.length ? ` (involving ${named.map((s) => s.value.text).join(", ")})` : ""}: ${result.message.trim()}`;
  const ranges = named.length ? named.map((s) => s.range) : [plan.conda.dependenciesRange ?? lineRange(1)];
  return new SpecError(input, ranges.map((range, i) => ({ message: i === 0 ? message : `(${named[i]!.value.text})`, range })));
}
