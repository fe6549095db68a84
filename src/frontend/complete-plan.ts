// BuildPlan -> ImagePlan: what the frontend asks BuildKit before the graph can be made. The
// lock (given, or solved in a build step), the base image of every platform (pinned), our own
// image for the build steps, and what the daemon can run. The requests overlap: our image and
// the bases are resolved while a given lock is read or the solve step runs.
import type { Bridge, ResolvedImage } from "../gateway/bridge";
import { type BuildOptions, OptionError } from "../gateway/options";
import { parseBaseConfig } from "../image/config";
import { normalizeReference } from "../image/reference";
import { SpecError } from "../input/errors";
import { stackMethodFor } from "../llb";
import type { PbPlatform, PbSourceInfo } from "../llb/pb";
import { formatPlatform } from "../llb/platform";
import type { DaemonPlan, ImagePlan, LockPlan, PlatformPlan, ToolImage } from "../plan/image-plan";
import type { BuildPlan } from "../plan/plan";
import { baseProbe } from "../stages/image";
import { givenLock, solvedLock } from "./conda";
import { pycCompilers } from "./pyc-compiler";
import type { InputFile } from "./inputs";

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

const noOciLayout = "this daemon cannot read an OCI layout folder (Docker's classic image store has no OCI layout source); use the containerd image store, or push the image to a registry and pass docker-image://<ref>";

async function resolveBase(bridge: Bridge, plan: BuildPlan, opts: BuildOptions, platform: PbPlatform, input: InputFile): Promise<PlatformPlan> {
  let resolved: ResolvedImage;
  try {
    const oci = plan.base.ociStore !== undefined ? { storeId: plan.base.ociStore } : undefined;
    resolved = await bridge.resolveImage(plan.base.ref, platform, opts.imageResolveMode, opts.sessionId, oci);
  } catch (e) {
    const message = (e as Error).message;
    // Docker's classic image store has no OCI layout source: BuildKit answers "unknown scheme".
    if (plan.base.ociStore !== undefined && /unknown scheme oci-layout/.test(message)) throw new SpecError(input, [{ message: `image.base (${plan.base.origin}): ${noOciLayout}` }]);
    throw new SpecError(input, [
      { message: `image.base (${plan.base.origin}) ${JSON.stringify(plan.base.ref)} for ${formatPlatform(platform)} cannot be resolved: ${message}`, range: plan.base.range },
    ]);
  }
  return { platform, base: { digest: resolved.digest, config: resolved.config.length ? Buffer.from(resolved.config).toString("utf8") : undefined } };
}

export function daemonPlan(bridge: Bridge, opts: BuildOptions): DaemonPlan {
  return { stack: stackMethodFor(bridge.llbCaps), imageResolveMode: opts.imageResolveMode };
}

export interface PlanInputs {
  bridge: Bridge;
  opts: BuildOptions;
  input: InputFile;
  sourceInfo: PbSourceInfo;
  workerPlatform: PbPlatform;
  /** The context's .dockerignore patterns (read beside the input file, or in the context). */
  contextIgnore: Promise<string[]>;
}

/**
 * The plan's steps towards an ImagePlan, each asked at most once: `lock()` alone for the lock
 * target (no base is pulled), `complete()` for everything.
 */
export class PlanCompletion {
  private readonly bases = new Map<string, Promise<PlatformPlan>>();
  private tool?: Promise<ToolImage>;
  private given?: Promise<LockPlan | undefined>;
  private lockPromise?: Promise<LockPlan | undefined>;
  readonly daemon: DaemonPlan;
  /** Whether the build has conda work (a lock to obtain, steps of ours to run). */
  readonly needsConda: boolean;

  constructor(
    private readonly plan: BuildPlan,
    private readonly inputs: PlanInputs,
  ) {
    const { input } = inputs;
    this.daemon = daemonPlan(inputs.bridge, inputs.opts);
    this.needsConda = plan.target === "lock" || plan.conda.specs.length > 0 || plan.conda.lockfile !== undefined || input.conventionalLock !== undefined;
    // Our own image runs the solve and install steps: resolve it while the rest goes on.
    if (this.needsConda) this.toolImage().catch(() => undefined);
  }

  toolImage(): Promise<ToolImage> {
    return (this.tool ??= toolImage(this.inputs.bridge, this.inputs.opts, this.inputs.workerPlatform));
  }

  platform(p: PbPlatform): Promise<PlatformPlan> {
    const key = formatPlatform(p);
    if (!this.bases.has(key)) this.bases.set(key, resolveBase(this.inputs.bridge, this.plan, this.inputs.opts, p, this.inputs.input));
    return this.bases.get(key)!;
  }

  /** The user's lock, if any, read and checked against the plan. */
  givenLock(): Promise<LockPlan | undefined> {
    const { bridge, opts, input } = this.inputs;
    return (this.given ??= this.needsConda ? givenLock(bridge, opts, this.plan, input) : Promise.resolve(undefined));
  }

  /** The lock: the given one, else solved in a build step. */
  lock(): Promise<LockPlan | undefined> {
    return (this.lockPromise ??= this.obtainLock());
  }

  private async obtainLock(): Promise<LockPlan | undefined> {
    const given = await this.givenLock();
    if (given || !this.needsConda) return given;
    const { bridge, opts, input, sourceInfo } = this.inputs;
    const probe = async (p: PbPlatform) => baseProbe({ build: this.plan, daemon: this.daemon, context: { sessionId: opts.sessionId } }, await this.platform(p));
    return solvedLock(bridge, opts, this.plan, input, sourceInfo, { tool: this.toolImage(), platforms: this.plan.platforms, base: probe });
  }

  /** The lock and our image, without the bases: what the lock target needs. */
  async lockOnly(): Promise<Pick<ImagePlan, "build" | "tool" | "lock">> {
    const lock = await this.lock();
    // A given lock is written back as it is: no step of ours runs, so our image is not needed.
    return { build: this.plan, lock, tool: lock?.solve ? await this.toolImage() : undefined };
  }

  async complete(): Promise<ImagePlan> {
    const { input, opts } = this.inputs;
    // The bases are resolved while a given lock is read (a registry round trip each, ~10 ms of
    // every rebuild otherwise), but awaited after it: a lock for the wrong platform is the error.
    const platforms = Promise.all(this.plan.platforms.map((p) => this.platform(p)));
    platforms.catch(() => undefined); // awaited below, after the lock
    await this.givenLock();
    const lock = await this.lock();
    const tool = lock ? await this.toolImage() : undefined;
    const compilers = lock && tool ? await pycCompilers(this.inputs.bridge, this.plan, input, this.inputs.sourceInfo, lock, tool) : [];
    return {
      input: { name: input.name, text: input.text },
      build: this.plan,
      daemon: this.daemon,
      tool,
      lock,
      ...(compilers.length ? { pycCompilers: compilers } : {}),
      context: { name: opts.contextLocal, sessionId: opts.sessionId, exclude: input.ignore ?? (await this.inputs.contextIgnore) },
      platforms: await platforms,
    };
  }
}
