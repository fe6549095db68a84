// One build, start to Return, in its phases (plan/image-plan.ts): read the input, plan, complete
// the plan with what BuildKit knows (the lock, given or solved; the bases), build the image's LLB
// per platform and solve it, read what its steps reported, and return the image, the lock file
// or the plan - or an error pointing at the input's lines.
import { Bridge } from "../gateway/bridge";
import { Code, statusOf } from "../gateway/errors";
import type { RpcStatus } from "../gateway/messages";
import { decode } from "../proto/codec";
import { RpcError } from "../gateway/transport";
import { type BuildOptions, OptionError, parseBuildOptions } from "../gateway/options";
import { imageResult, type PlatformResult } from "../gateway/result";
import { buildImageConfig, parseBaseConfig } from "../image/config";
import { marshal, FileActions, State } from "../llb";
import type { PbSourceInfo } from "../llb/pb";
import { formatPlatform, hostPlatform, normalizePlatform } from "../llb/platform";
import type { Problem } from "../input/errors";
import { type InputSpec, parseInputSpec } from "../input/input-spec";
import { lineRange } from "../input/source";
import { SpecError } from "../input/errors";
import { type ImagePlan, type PlatformPlan, planJson } from "../plan/image-plan";
import { type BuildPlan, planBuild } from "../plan/plan";
import { imageGraph, lockGraph } from "../stages/image";
import { mark, timingReport } from "../timing";
import { PlanCompletion } from "./complete-plan";
import { postLinkPackages, readEnvironment } from "./install";
import { explainContextCopyFailure } from "./context-errors";
import { showNotices } from "./notices";
import { sbomRef } from "./sbom";
import { type InputFile, readContextIgnore, readInput } from "./inputs";
import { answerSubrequest } from "./subrequests";

/** One platform's image: its graph solved in one Solve, then its steps' reports read, then its config. */
async function imageForPlatform(bridge: Bridge, plan: ImagePlan, p: PlatformPlan, input: InputFile, sourceInfo: PbSourceInfo): Promise<PlatformResult> {
  if (plan.build.conda.postLink.value === "run" && plan.lock) p = { ...p, postLink: await postLinkPackages(bridge, plan, p, sourceInfo) };
  const graph = imageGraph(plan, p);
  mark("graph");
  const definition = marshal(graph.image, { caps: bridge.llbCaps, ignoreCache: plan.build.ignoreCache, sourceInfo });
  mark("marshalled");
  const refId = await bridge.solve(definition, { evaluate: true }).catch((e: unknown) => {
    throw explainContextCopyFailure(e, plan.build, input);
  });
  mark("installed");
  const baseConfigBytes = p.base.config !== undefined ? Buffer.from(p.base.config) : undefined;
  const baseConfig = parseBaseConfig(baseConfigBytes, p.platform);
  let condaEnv: [string, string][] = [];
  if (graph.environment) {
    const installed = await readEnvironment(bridge, plan, p, graph.environment, baseConfig.config, sourceInfo);
    condaEnv = installed.env;
    for (const w of installed.warnings) await bridge.warn(`${formatPlatform(p.platform)}: ${w}`);
    await showNotices(bridge, installed.notices.map((n) => `${formatPlatform(p.platform)}: ${n}`));
  }
  const { build } = plan;
  // The environment's variables first; image.env, the user's explicit word, last.
  const config = buildImageConfig(baseConfig, { platform: p.platform, ...build.image, env: [...condaEnv, ...build.image.env], sourceDateEpoch: build.sourceDateEpoch, history: graph.history });
  return { platform: p.platform, refId, config, baseConfig: baseConfigBytes, sbom: await sbomRef(bridge, plan, graph, sourceInfo) };
}

/** Returns one file as the build's result (for --output type=local). */
async function returnFile(bridge: Bridge, plan: BuildPlan, state: State): Promise<void> {
  const refId = await bridge.solve(marshal(state, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache }));
  await bridge.returnResult({ ref: { id: refId }, metadata: {} });
}

/** The `plan` target: plan.json, the complete plan the image's graph is made from (for debugging). */
function planFileState(plan: ImagePlan): State {
  return State.scratch().file(new FileActions().mkfile("/plan.json", planJson(plan), { mode: 0o644, timestamp: 0 }), { name: "[plan] plan.json" });
}

/** What the input file says that the build does not do, and a pixi manifest built without its lock. */
function inputWarnings(spec: InputSpec, plan: BuildPlan, input: InputFile): Problem[] {
  const unlocked = spec.pixi && plan.target !== "lock" && !input.conventionalLock && !plan.conda.lockfile;
  const lock = unlocked ? [{ message: `no pixi.lock beside ${input.name}: the environment is solved by this build; a committed pixi.lock (pixi lock) makes the build reproducible`, range: lineRange(1) }] : [];
  return [...spec.inputWarnings, ...lock];
}

async function sendWarnings(bridge: Bridge, plan: Pick<BuildPlan, "warnings">, input: InputFile): Promise<void> {
  for (const w of plan.warnings) await bridge.warn(w.message, { filename: input.name, data: input.data, ranges: w.range ? [w.range] : [] });
}

export async function build(bridge: Bridge, env: NodeJS.ProcessEnv): Promise<void> {
  const workerPlatform = bridge.workerPlatforms[0] ? normalizePlatform(bridge.workerPlatforms[0]) : hostPlatform();
  const opts = parseBuildOptions(env, workerPlatform);
  bridge.importCaches(opts.cacheImports);
  if (opts.requestId) return answerSubrequest(bridge, opts, opts.requestId);
  // Both reads are small local transfers; doing them together saves a round trip.
  const contextIgnore = readContextIgnore(bridge, opts);
  contextIgnore.catch(() => undefined); // awaited when the plan is completed; an early failure elsewhere must not leave it unhandled
  const input = await readInput(bridge, opts);
  mark("input");
  const spec = parseInputSpec(input.name, input.text, opts.buildArgs);
  const plan = planBuild(spec, opts);
  mark("plan");
  await sendWarnings(bridge, { warnings: [...inputWarnings(spec, plan, input), ...plan.warnings] }, input);
  const sourceInfo: PbSourceInfo = { filename: input.name, data: input.data, language: "YAML" };
  const completion = new PlanCompletion(plan, { bridge, opts, input, sourceInfo, workerPlatform, contextIgnore });
  if (plan.target === "lock") return returnFile(bridge, plan, lockGraph(await completion.lockOnly()));
  const imagePlan = await completion.complete();
  mark("lock");
  if (plan.target === "plan") return returnFile(bridge, plan, planFileState(imagePlan));
  const results = await Promise.all(imagePlan.platforms.map((p) => imageForPlatform(bridge, imagePlan, p, input, sourceInfo)));
  mark("solved");
  await returnImage(bridge, plan, opts, results);
}

async function returnImage(bridge: Bridge, plan: BuildPlan, opts: BuildOptions, results: PlatformResult[]): Promise<void> {
  const extra: Record<string, Uint8Array> = {};
  if (plan.sourceDateEpoch !== undefined) extra["source.date.epoch"] = Buffer.from(String(plan.sourceDateEpoch));
  if (opts.buildArgs.CONDA_FRONTEND_TIMING) {
    // For `npm run bench`: the frontend's own time from process start to Return.
    await bridge.warn(`conda-frontend timing: start-to-return ${performance.now().toFixed(1)} ms (${timingReport()})`);
  }
  await bridge.returnResult(imageResult(results, extra));
}

/** Runs one build as a gateway frontend and returns the process exit code. */
export async function runFrontend(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let bridge: Bridge;
  mark("main");
  try {
    bridge = await Bridge.connect();
    mark("ping");
  } catch (e) {
    process.stderr.write(`conda-frontend: cannot talk to BuildKit over stdio: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    await build(bridge, env);
  } catch (e) {
    await bridge.returnError(toStatus(e)).catch((err: Error) => process.stderr.write(`conda-frontend: Return failed: ${err.message}\n`));
  } finally {
    bridge.close();
  }
  return 0;
}

/**
 * The status Return carries. Errors in the user's input are returned with code Unknown, not
 * InvalidArgument: BuildKit prints a status's code name before its message unless the code is
 * Unknown, once per gRPC hop the error crosses (four on Docker 26.1.5: "InvalidArgument:
 * InvalidArgument: ... environment.yml:6: ..."). What the user reads starts with the file and line.
 */
export function toStatus(e: unknown) {
  if (e instanceof SpecError) {
    const text = e.file.text;
    const data = text !== undefined ? Buffer.from(text) : undefined;
    return statusOf(e.message, Code.Unknown, data ? { filename: e.file.name, data, ranges: e.ranges } : undefined);
  }
  if (e instanceof OptionError) return statusOf(e.message, Code.Unknown);
  if (e instanceof RpcError && e.statusBytes) {
    // A failed step: hand BuildKit's own status back, details and all (the failing step, its
    // line in the input file, the exit code), so buildx shows what it would for a Dockerfile.
    try {
      return decode<RpcStatus>("google.rpc.Status", e.statusBytes);
    } catch {
      // fall through to the plain message
    }
  }
  const err = e as Error;
  process.stderr.write(`conda-frontend: ${err.stack ?? err}\n`);
  return statusOf(err.message ?? String(e), Code.Unknown);
}
