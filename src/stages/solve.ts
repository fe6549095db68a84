// The solve stage: an exec op that runs our own CLI (`solve`) from the frontend's own image,
// pinned by digest, with the normalised request as its only input. Same request -> cached;
// --no-cache or an edited dependency -> solved again.
import { authSecretId, authSecretPath } from "../conda/auth";
import type { SolveRequest } from "../conda/solve-request";
import { FileActions, State } from "../llb";
import type { NetworkMode } from "../llb/exec";
import type { ToolImage } from "../plan/image-plan";

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
