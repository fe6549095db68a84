// The complete plan: everything the image's LLB is made from, as data. The build plan (plan.ts)
// holds what the input file and the options decide; this adds what the frontend learned from
// BuildKit before it could build the graph: the lock (and how it was obtained), the base image
// of each platform, our own image that runs the build steps, and what the daemon can run.
//
// The phases of a build, each a type:
//   InputFile (frontend/inputs.ts) -> BuildPlan -> ImagePlan (this file, with the lock) ->
//   LLB (stages/image.ts, pure) -> InstalledEnvironment (the steps' reports, frontend/install.ts)
//   -> image config and result.
// An ImagePlan is plain JSON: `--target plan` returns it as plan.json, and golden tests turn
// committed plans into LLB (test/stages/golden).
import type { SolveRequest } from "../conda/solve-request";
import type { Lock } from "../input/lock";
import type { PbPlatform } from "../llb/pb";
import type { StackMethod } from "../llb/state";
import type { BuildPlan } from "./plan";
import type { PycCompiler } from "./pyc-compiler";

/** The frontend's own image, to run build-step tools from. */
export interface ToolImage {
  ref: string;
  digest?: string;
  platform: PbPlatform;
  /** The image's ENTRYPOINT: how to start our CLI in it. */
  entrypoint: string[];
  env: string[];
}

/** How the build's lock was obtained. */
export type LockPlan =
  /** Given by the user (LOCKFILE, image.lockfile, conda-lock.yml beside the file). */
  | { lock: Lock; fileName: string; solve?: undefined }
  /** Solved by this build's solve step, from this request (the step is part of the graph). */
  | { lock: Lock; fileName: string; solve: SolveRequest };

/** One platform's image: its base as resolved (pinned by digest) and its config. */
export interface PlatformPlan {
  platform: PbPlatform;
  base: {
    /** The manifest digest the base is pinned to. Docker's classic store gives none for an image it holds only locally. */
    digest?: string;
    /** The base image's config as the registry sent it (OCI image config JSON text; kept byte for byte, BuildKit is handed it back). */
    config?: string;
  };
  /** Packages whose post-link scripts run (image.post-link: run), in order; read from their steps' reports. */
  postLink?: string[];
}

/** What the daemon can run, decided from its LLB caps. */
export interface DaemonPlan {
  /** How layers are stacked: the merge op (containerd store) or copies (classic store). */
  stack: StackMethod;
  /** How image sources resolve (--pull: "pull"; else "default"). */
  imageResolveMode?: "default" | "pull" | "local";
}

/** The build context as the app layer reads it. */
export interface ContextPlan {
  /** The local source's name (BuildKit's `context` local). */
  name: string;
  sessionId: string;
  /** .dockerignore patterns, applied by BuildKit before transfer. */
  exclude: string[];
}

export interface ImagePlan {
  /** The input file, for the source locations BuildKit shows a failing step's lines from. */
  input: { name: string; text: string };
  build: BuildPlan;
  daemon: DaemonPlan;
  /** Our image, when the build has build steps of ours (conda packages, a solve). */
  tool?: ToolImage;
  lock?: LockPlan;
  /** Build-machine pythons that byte-compile .pyc for foreign platforms, by python version (pyc-compiler.ts). */
  pycCompilers?: PycCompiler[];
  context: ContextPlan;
  platforms: PlatformPlan[];
}

/** plan.json: the plan with its keys in a stable order, two-space indented, newline-terminated. */
export function planJson(plan: ImagePlan): string {
  return JSON.stringify(plan, null, 2) + "\n";
}
