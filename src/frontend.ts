// One build, start to Return: read the input, parse it, plan, build LLB per platform, solve,
// and return the image (or an error pointing at the input's lines).
import { Bridge } from "./gateway/bridge";
import { Code, statusOf } from "./gateway/errors";
import { parseBuildOptions, OptionError, type BuildOptions } from "./gateway/options";
import { imageResult, type PlatformResult } from "./gateway/result";
import { buildImageConfig, parseBaseConfig } from "./image/config";
import { marshal, merge, State } from "./llb";
import type { PbPlatform, PbSourceInfo } from "./llb/pb";
import { formatPlatform, hostPlatform, normalizePlatform } from "./llb/platform";
import { parseDockerignore } from "./spec/dockerignore";
import { parseEnvironment } from "./spec/environment";
import { SpecError } from "./spec/errors";
import { chooseInput, inputCandidates, missingInputMessage } from "./spec/input";
import { appLayer, contextIncludes } from "./stages/app";
import { type BuildPlan, planBuild } from "./stages/plan";
import { mark, timingReport } from "./timing";

interface InputFile {
  name: string;
  data: Uint8Array;
  /** Patterns from <name>.dockerignore beside the file, if there is one. */
  ignore?: string[];
}

async function readInput(bridge: Bridge, opts: BuildOptions): Promise<InputFile> {
  const candidates = inputCandidates(opts.filename);
  const include = [...candidates, ...candidates.map((c) => `${c}.dockerignore`)];
  const local = State.local(opts.dockerfileLocal, { sessionId: opts.sessionId, include, sharedKeyHint: opts.dockerfileLocal, name: `[internal] load ${opts.filename}` });
  const ref = await bridge.solve(marshal(local, { caps: bridge.llbCaps }), { evaluate: true });
  // One listing answers which candidate is there and whether it has its own .dockerignore.
  const present = new Set((await bridge.readDir(ref, "/")).map((s) => s.path ?? ""));
  const name = chooseInput(opts.filename, present);
  if (!name) throw new SpecError({ name: opts.filename }, [{ message: missingInputMessage(opts.filename) }]);
  const ignoreName = `${name}.dockerignore`;
  const [data, ignore] = await Promise.all([
    bridge.readFile(ref, name),
    present.has(ignoreName) ? bridge.readFile(ref, ignoreName).then((b) => parseDockerignore(Buffer.from(b).toString("utf8"))) : undefined,
  ]);
  // With -f -, buildx calls the piped text "Dockerfile"; tell the user the name they know.
  return { name: name === "Dockerfile" && opts.filename === "Dockerfile" ? "environment.yml (stdin)" : name, data, ignore };
}

async function readContextIgnore(bridge: Bridge, opts: BuildOptions): Promise<string[]> {
  const local = State.local(opts.contextLocal, { sessionId: opts.sessionId, include: [".dockerignore"], sharedKeyHint: `${opts.contextLocal}-dockerignore`, name: "[internal] load .dockerignore" });
  const ref = await bridge.solve(marshal(local, { caps: bridge.llbCaps }), { evaluate: true });
  const entries = await bridge.readDir(ref, "/");
  if (!entries.some((e) => e.path === ".dockerignore")) return [];
  return parseDockerignore(Buffer.from(await bridge.readFile(ref, ".dockerignore")).toString("utf8"));
}

async function buildPlatform(bridge: Bridge, plan: BuildPlan, opts: BuildOptions, platform: PbPlatform, context: State, sourceInfo: PbSourceInfo): Promise<PlatformResult> {
  let resolved;
  try {
    resolved = await bridge.resolveImage(plan.base.ref, platform, opts.imageResolveMode, opts.sessionId);
  } catch (e) {
    throw new SpecError({ name: sourceInfo.filename, text: Buffer.from(sourceInfo.data).toString("utf8") }, [
      { message: `image.base (${plan.base.origin}) ${JSON.stringify(plan.base.ref)} for ${formatPlatform(platform)} cannot be resolved: ${(e as Error).message}`, range: plan.base.range },
    ]);
  }
  const baseConfig = parseBaseConfig(resolved.config, platform);
  const base = State.image(plan.base.ref, platform, { digest: resolved.digest, resolveMode: opts.imageResolveMode, sourceRanges: plan.base.range ? [plan.base.range] : undefined });
  const app = appLayer({ platform, workdir: plan.workdir, copy: plan.appCopy, context, timestamp: plan.sourceDateEpoch });
  const image = merge([base, app], { name: `[image ${formatPlatform(platform)}] stack layers` });
  const definition = marshal(image, { caps: bridge.llbCaps, ignoreCache: plan.ignoreCache, sourceInfo });
  const refId = await bridge.solve(definition);
  const config = buildImageConfig(baseConfig, { platform, ...plan.image, sourceDateEpoch: plan.sourceDateEpoch });
  return { platform, refId, config, baseConfig: resolved.config.length ? resolved.config : undefined };
}

export async function build(bridge: Bridge, env: NodeJS.ProcessEnv): Promise<void> {
  const defaultPlatform = bridge.workerPlatforms[0] ? normalizePlatform(bridge.workerPlatforms[0]) : hostPlatform();
  const opts = parseBuildOptions(env, defaultPlatform);
  if (opts.requestId) throw new OptionError(`this frontend does not answer ${opts.requestId} requests (--call / --print) yet`);
  // Both reads are small local transfers; doing them together saves a round trip.
  const contextIgnore = readContextIgnore(bridge, opts);
  contextIgnore.catch(() => undefined); // awaited below; an early failure elsewhere must not leave it unhandled
  const input = await readInput(bridge, opts);
  mark("input");
  const text = Buffer.from(input.data).toString("utf8");
  const spec = parseEnvironment(input.name, text);
  const plan = planBuild(spec, opts);
  mark("plan");
  const sourceInfo: PbSourceInfo = { filename: input.name, data: input.data, language: "YAML" };
  for (const w of plan.warnings) await bridge.warn(w.message, { filename: input.name, data: input.data, ranges: w.range ? [w.range] : [] });

  const exclude = input.ignore ?? (await contextIgnore);
  const context = State.local(opts.contextLocal, {
    sessionId: opts.sessionId,
    include: contextIncludes(plan.appCopy),
    exclude,
    sharedKeyHint: opts.contextLocal,
    name: "[internal] load build context",
  });
  mark("ignore");
  const results = await Promise.all(plan.platforms.map((p) => buildPlatform(bridge, plan, opts, p, context, sourceInfo)));
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

function toStatus(e: unknown) {
  if (e instanceof SpecError) {
    const text = e.file.text;
    const data = text !== undefined ? Buffer.from(text) : undefined;
    return statusOf(e.message, Code.InvalidArgument, data ? { filename: e.file.name, data, ranges: e.ranges } : undefined);
  }
  if (e instanceof OptionError) return statusOf(e.message, Code.InvalidArgument);
  const err = e as Error;
  process.stderr.write(`conda-frontend: ${err.stack ?? err}\n`);
  return statusOf(err.message ?? String(e), Code.Unknown);
}
