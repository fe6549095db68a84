// The solve stage: an exec op that runs our own CLI (`solve`) from the frontend's own image,
// pinned by digest, with the normalised request as its only input. Same request -> cached;
// --no-cache or an edited dependency -> solved again.
import { authSecretId, authSecretPath } from "../conda/auth";
import { contentHash, type SolvePlatform, type SolveRequest } from "../conda/solve-request";
import { subdirOf, type VirtualPackage, virtualPackages } from "../conda/virtual-packages";
import { FileActions, State } from "../llb";
import type { NetworkMode } from "../llb/exec";
import type { PbPlatform } from "../llb/pb";
import type { CondaPlan } from "../plan/plan";

/** The frontend's own image, to run build-step tools from. */
export interface ToolImage {
  ref: string;
  digest?: string;
  platform: PbPlatform;
  /** The image's ENTRYPOINT: how to start our CLI in it. */
  entrypoint: string[];
  env: string[];
}

/**
 * The frontend's own image, pinned by digest, as the root of a build step that runs our CLI.
 * `separate`: the same image as a vertex of its own (filed as internal). BuildKit (v0.13, v0.25)
 * hands a vertex that an earlier Solve of the build completed to later Solves without its cache keys, so
 * steps rooted on it can never match an imported cache (--cache-from): the solve step, solved
 * first, must not share its root with the install steps solved after it.
 */
export function toolState(tool: ToolImage, opts: { separate?: boolean } = {}): State {
  return State.image(tool.ref, tool.platform, { digest: tool.digest, env: tool.env, name: `[tool] ${tool.ref}`, ...(opts.separate ? { recordType: "internal" as const } : {}) });
}

export interface PlatformInputs {
  platform: PbPlatform;
  /** glibc of the base image, when it could be read. */
  baseGlibc?: string;
}

export function platformVirtualPackages(conda: CondaPlan, subdir: string, baseGlibc?: string): VirtualPackage[] {
  return virtualPackages({ subdir, baseGlibc, configured: conda.virtualPackages, overrides: conda.overrides });
}

/**
 * The lock's content hash: the specs, channels, platform and the virtual packages the user set.
 * The base image's glibc is left out on purpose, so a lock stays valid when the base is updated.
 */
export function lockContentHash(conda: CondaPlan, subdir: string): string {
  return contentHash({
    specs: conda.specs.map((s) => s.value.text),
    pip: conda.pip.map((p) => p.value),
    channels: conda.channels.map((c) => c.url),
    subdir,
    virtualPackages: platformVirtualPackages(conda, subdir).filter((v) => v.name !== "__glibc" || conda.virtualPackages.__glibc || conda.overrides.GLIBC !== undefined),
  });
}

export function solveRequest(conda: CondaPlan, platforms: PlatformInputs[], sourceName: string): SolveRequest {
  const solvePlatforms: SolvePlatform[] = platforms.map((p) => {
    const subdir = subdirOf(p.platform);
    return { subdir, virtualPackages: platformVirtualPackages(conda, subdir, p.baseGlibc), contentHash: lockContentHash(conda, subdir) };
  });
  return {
    specs: conda.specs.map((s) => (s.value.channel ? `${s.value.channel}::${s.value.solverSpec}` : s.value.solverSpec)),
    channels: conda.channels.map((c) => ({ name: c.name, url: c.url })),
    platforms: solvePlatforms,
    sources: [sourceName],
    ...(conda.privateChannels.length ? { privateChannels: conda.privateChannels } : {}),
  };
}

export interface SolveStageInput {
  tool: ToolImage;
  request: SolveRequest;
  network: NetworkMode;
  ignoreCache: boolean;
}

/** The solve step; its result is the /out folder: conda-lock.yml and result.json. */
export function solveStage({ tool, request, network, ignoreCache }: SolveStageInput): State {
  const subdirs = request.platforms.map((p) => p.subdir).join(", ");
  const input = State.scratch().file(new FileActions().mkfile("/request.json", JSON.stringify(request, null, 1), { mode: 0o444, timestamp: 0 }), {
    name: `[solve ${subdirs}] request`,
  });
  const root = toolState(tool, { separate: true }).withNetwork(network);
  const exec = root.run({
    args: [...tool.entrypoint, "solve", "/in/request.json", "/out"],
    // Our tool writes only to /out and /tmp: no root layer to make and commit.
    readonlyRoot: true,
    mounts: [
      { type: "bind", dest: "/in", from: input, readonly: true },
      { type: "bind", dest: "/out", from: State.scratch() },
      { type: "tmpfs", dest: "/tmp" },
      // Private channels: the secret by name only; its content never reaches the LLB.
      ...(request.privateChannels?.length ? [{ type: "secret" as const, dest: authSecretPath, id: authSecretId }] : []),
    ],
    name: `[solve ${subdirs}] ${request.specs.length} spec${request.specs.length === 1 ? "" : "s"} from ${request.channels.length} channel${request.channels.length === 1 ? "" : "s"}`,
    ignoreCache,
  });
  return exec.mount("/out");
}

/** The `lock` target's result: just conda-lock.yml, for --output type=local. */
export function lockFileState(from: State | undefined, text?: string): State {
  const actions = from ? new FileActions().copy(from, "/conda-lock.yml", "/conda-lock.yml") : new FileActions().mkfile("/conda-lock.yml", text ?? "", { mode: 0o644, timestamp: 0 });
  return State.scratch().file(actions, { name: "[lock] conda-lock.yml" });
}
