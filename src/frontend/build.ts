// One build, start to Return: read the input, parse it, plan, obtain the lock (given or solved),
// build LLB per platform, solve, and return the image or the lock file - or an error pointing at
// the input's lines.
import { Bridge, type ResolvedImage } from "../gateway/bridge";
import { Code, statusOf } from "../gateway/errors";
import type { RpcStatus } from "../gateway/messages";
import { decode } from "../proto/codec";
import { RpcError } from "../gateway/transport";
import { type BuildOptions, OptionError, parseBuildOptions } from "../gateway/options";
import { imageResult, type PlatformResult } from "../gateway/result";
import { buildImageConfig, parseBaseConfig } from "../image/config";
import { normalizeReference } from "../image/reference";
import { marshal, merge, State } from "../llb";
import type { PbPlatform, PbSourceInfo } from "../llb/pb";
import { formatPlatform, hostPlatform, normalizePlatform } from "../llb/platform";
import { parseEnvironment } from "../input/environment";
import { SpecError } from "../input/errors";
import { type Lock, writeCondaLock } from "../input/lock";
import { appInstall, appLayer, contextIncludes } from "../stages/app";
import { type BuildPlan, planBuild } from "../plan/plan";
import { lockFileState, type ToolImage } from "../stages/solve";
import { mark, timingReport } from "../timing";
import { givenLock, type LockChoice, solvedLock } from "./conda";
import { type EnvironmentGraph, environmentGraph, readEnvironment } from "./install";
import { explainDownloadFailure } from "./download-errors";
import { type InputFile, readContextIgnore, readInput } from "./inputs";

/** Calls `fn` once per distinct platform, sharing the promise. */
function memo<T>(fn: (p: PbPlatform) => Promise<T>): (p: PbPlatform) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (p) => {
    const key = formatPlatform(p);
    if (!cache.has(key)) cache.set(key, fn(p));
    return cache.get(key)!;
  };
}

interface Base {
  platform: PbPlatform;
  resolved: ResolvedImage;
  /** The base as it goes into the image. */
  state: State;
  /**
   * The same image as a vertex of its own, for the frontend to look into (its glibc, /bin/sh).
   * A vertex an earlier Solve completed reaches later Solves without its cache keys (install.ts),
   * so the image's own base must not be the one read here.
   */
  probe: State;
}

async function resolveBase(bridge: Bridge, plan: BuildPlan, opts: BuildOptions, platform: PbPlatform, input: InputFile): Promise<Base> {
  let resolved: ResolvedImage;
  try {
    resolved = await bridge.resolveImage(plan.base.ref, platform, opts.imageResolveMode, opts.sessionId);
  } catch (e) {
    throw new SpecError(input, [
      { message: `image.base (${plan.base.origin}) ${JSON.stringify(plan.base.ref)} for ${formatPlatform(platform)} cannot be resolved: ${(e as Error).message}`, range: plan.base.range },
    ]);
  }
  const source = { digest: resolved.digest, resolveMode: opts.imageResolveMode, sourceRanges: plan.base.range ? [plan.base.range] : undefined };
  const state = State.image(plan.base.ref, platform, source);
  const probe = State.image(plan.base.ref, platform, { ...source, recordType: "internal", name: `[base] ${plan.base.ref} (read by the frontend)` });
  return { platform, resolved, state, probe };
}

/** Our own image (the `source` option), pinned, to run build-step tools from on the worker's platform. */
async function toolImage(bridge: Bridge, opts: BuildOptions, workerPlatform: PbPlatform): Promise<ToolImage> {
  if (!opts.frontendSource) throw new OptionError("the build did not say which frontend image runs it (no `source` option), so its build steps cannot run; start it with # syntax=<image> or BUILDKIT_SYNTAX");
  const ref = normalizeReference(opts.frontendSource.replace(/^docker-image:\/\//, ""));
  const resolved = await bridge.resolveImage(ref, workerPlatform, opts.imageResolveMode, opts.sessionId);
  const config = parseBaseConfig(resolved.config, workerPlatform);
  const entrypoint = config.config.Entrypoint ?? [];
  if (!entrypoint.length) throw new Error(`the frontend image ${ref} has no ENTRYPOINT to run its tools with`);
  return { ref, digest: resolved.digest, platform: workerPlatform, entrypoint, env: config.config.Env ?? [] };
}

interface Environment {
  lock: Lock;
  tool: ToolImage;
  /** The solve step's output, when this build solved (the lock was read from it). */
  solved?: State;
}

async function imageForPlatform(bridge: Bridge, plan: BuildPlan, base: Base, context: State, input: InputFile, sourceInfo: PbSourceInfo, environment?: Environment): Promise<PlatformResult> {
  const { platform } = base;
  const baseConfig = parseBaseConfig(base.resolved.config, platform);
  let below = base.state;
  const history: string[] = [];
  // What the frontend reads back (the lock, the steps' reports) travels with the image's cache.
  const carry: State[] = environment?.solved ? [environment.solved] : [];
  let graph: EnvironmentGraph | undefined;
  if (environment) {
    const inputs = { lock: environment.lock, platform, base: base.state, baseProbe: base.probe, tool: environment.tool, environmentName: plan.conda.name };
    graph = await environmentGraph(bridge, plan, inputs, sourceInfo);
    below = graph.state;
    history.push(...graph.history);
    carry.push(...graph.reportFolders);
  }
  const app = appLayer({ platform, workdir: plan.workdir, copy: plan.appCopy, context, timestamp: plan.sourceDateEpoch, carry });
  let image = merge([below, app], { name: `[image ${formatPlatform(platform)}] stack layers` });
  history.push(`conda-frontend: ${plan.appCopy.length ? `copy ${plan.appCopy.map((c) => c.value).join(" ")} to` : "create"} ${plan.workdir}`);
  if (plan.appInstall) {
    if (!environment?.lock.packages.some((p) => p.name === "pip")) {
      throw new SpecError({ name: sourceInfo.filename, text: Buffer.from(sourceInfo.data).toString("utf8") }, [{ message: "image.app.install: pip needs pip in the environment; add `- pip` to dependencies", range: plan.appInstall.range }]);
    }
    image = appInstall({ image, prefix: plan.prefix, workdir: plan.workdir, ignoreCache: plan.ignoreCache, sourceRanges: [plan.appInstall.range] });
    history.push(`conda-frontend: pip install --no-deps ${plan.workdir}`);
  }
  // The whole image in one Solve, built now; the reports are read from it afterwards (install.ts).
  const definition = marshal(image, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo });
  mark("marshalled");
  const refId = await bridge.solve(definition, { evaluate: true }).catch((e: unknown) => {
    throw explainDownloadFailure(e, plan, input);
  });
  mark("installed");
  let condaEnv: [string, string][] = [];
  if (graph) {
    const installed = await readEnvironment(bridge, plan, graph, baseConfig.config, plan.conda.name, sourceInfo);
    condaEnv = installed.env;
    for (const w of installed.warnings) await bridge.warn(`${formatPlatform(platform)}: ${w}`);
  }
  // The environment's variables first; image.env, the user's explicit word, last.
  const config = buildImageConfig(baseConfig, { platform, ...plan.image, env: [...condaEnv, ...plan.image.env], sourceDateEpoch: plan.sourceDateEpoch, history });
  return { platform, refId, config, baseConfig: base.resolved.config.length ? base.resolved.config : undefined };
}

/** The `lock` target: just conda-lock.yml, from the solve step or re-written from the given lock. */
async function returnLock(bridge: Bridge, plan: BuildPlan, lock: LockChoice): Promise<void> {
  const state = lockFileState(lock.solved, lock.solved ? undefined : writeCondaLock(lock.lock));
  const refId = await bridge.solve(marshal(state, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache }));
  await bridge.returnResult({ ref: { id: refId }, metadata: {} });
}

export async function build(bridge: Bridge, env: NodeJS.ProcessEnv): Promise<void> {
  const workerPlatform = bridge.workerPlatforms[0] ? normalizePlatform(bridge.workerPlatforms[0]) : hostPlatform();
  const opts = parseBuildOptions(env, workerPlatform);
  bridge.importCaches(opts.cacheImports);
  if (opts.requestId) throw new OptionError(`this frontend does not answer ${opts.requestId} requests (--call / --print) yet`);
  // Both reads are small local transfers; doing them together saves a round trip.
  const contextIgnore = readContextIgnore(bridge, opts);
  contextIgnore.catch(() => undefined); // awaited below; an early failure elsewhere must not leave it unhandled
  const input = await readInput(bridge, opts);
  mark("input");
  const spec = parseEnvironment(input.name, input.text);
  const plan = planBuild(spec, opts);
  mark("plan");
  const sourceInfo: PbSourceInfo = { filename: input.name, data: input.data, language: "YAML" };
  for (const w of plan.warnings) await bridge.warn(w.message, { filename: input.name, data: input.data, ranges: w.range ? [w.range] : [] });

  const needsConda = plan.target === "lock" || plan.conda.specs.length > 0 || plan.conda.lockfile !== undefined || input.conventionalLock !== undefined;
  let toolPromise: Promise<ToolImage> | undefined;
  const toolImageOnce = () => (toolPromise ??= toolImage(bridge, opts, workerPlatform));
  // Our own image runs the solve and install steps: resolve it while the rest goes on.
  if (needsConda) toolImageOnce().catch(() => undefined);
  // A given lock is checked before anything is pulled: a lock for the wrong platform fails fast.
  const given = needsConda ? await givenLock(bridge, opts, plan, input) : undefined;
  const baseFor = memo((p: PbPlatform) => resolveBase(bridge, plan, opts, p, input));
  const solve = (): Promise<LockChoice> => solvedLock(bridge, opts, plan, input, sourceInfo, { tool: toolImageOnce(), platforms: plan.platforms, base: async (p) => (await baseFor(p)).probe });
  if (plan.target === "lock") return returnLock(bridge, plan, given ?? (await solve()));
  const bases = await Promise.all(plan.platforms.map(baseFor));
  const lock = needsConda ? (given ?? (await solve())) : undefined;
  const environment = lock ? { lock: lock.lock, tool: await toolImageOnce(), solved: lock.solved } : undefined;
  mark("lock");

  const exclude = input.ignore ?? (await contextIgnore);
  const context = State.local(opts.contextLocal, {
    sessionId: opts.sessionId,
    include: contextIncludes(plan.appCopy),
    exclude,
    sharedKeyHint: opts.contextLocal,
    name: "[internal] load build context",
  });
  const results = await Promise.all(bases.map((b) => imageForPlatform(bridge, plan, b, context, input, sourceInfo, environment)));
  mark("solved");
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
