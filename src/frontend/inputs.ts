// Reading what the client sent: the input file (and its own .dockerignore), the context's
// .dockerignore, and lock files next to the input file. Each is a small local transfer.
import type { Bridge } from "../gateway/bridge";
import type { BuildOptions } from "../gateway/options";
import { marshal, State } from "../llb";
import { parseDockerignore } from "../input/dockerignore";
import { SpecError } from "../input/errors";
import { chooseInput, inputCandidates, missingInputMessage } from "../input/input-file";
import { conventionalLockNameFor } from "../input/input-spec";

export interface InputFile {
  /** The name to show the user. */
  name: string;
  data: Uint8Array;
  text: string;
  /** Patterns from <name>.dockerignore beside the file, if there is one. */
  ignore?: string[];
  /** The lock beside the file, if there is one: conda-lock.yml (pixi.lock beside a pixi manifest). */
  conventionalLock?: Uint8Array;
  /** Its name. */
  conventionalLockName: string;
}

const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8");

async function transfer(bridge: Bridge, opts: BuildOptions, local: string, include: string[], name: string, keyHint: string): Promise<{ ref: string; present: Set<string> }> {
  const state = State.local(local, { sessionId: opts.sessionId, include, sharedKeyHint: keyHint, name });
  const ref = await bridge.solve(marshal(state, { caps: bridge.llbCaps }), { evaluate: true });
  const present = new Set((await bridge.readDir(ref, "/")).map((s) => s.path ?? ""));
  return { ref, present };
}

export async function readInput(bridge: Bridge, opts: BuildOptions): Promise<InputFile> {
  const candidates = inputCandidates(opts.filename);
  const lockNames = [...new Set(candidates.map(conventionalLockNameFor))];
  const include = [...candidates, ...candidates.map((c) => `${c}.dockerignore`), ...lockNames];
  const state = State.local(opts.dockerfileLocal, { sessionId: opts.sessionId, include, sharedKeyHint: opts.dockerfileLocal, name: `[internal] load ${opts.filename}` });
  const ref = await bridge.solve(marshal(state, { caps: bridge.llbCaps }), { evaluate: true });
  const optional = (path: string) => bridge.readFile(ref, path).catch(() => undefined);
  let name: string | undefined;
  if (candidates.length === 1) {
    name = candidates[0]!; // the usual case (-f environment.yml): no listing first
  } else {
    name = chooseInput(opts.filename, new Set((await bridge.readDir(ref, "/")).map((s) => s.path ?? "")));
  }
  // The file, its own .dockerignore and a lock beside it, all in one round of calls.
  const lockName = conventionalLockNameFor(name ?? opts.filename);
  const [data, ignoreBytes, lock] = await Promise.all([name ? optional(name) : undefined, name ? optional(`${name}.dockerignore`) : undefined, optional(lockName)]);
  if (!name || !data) throw new SpecError({ name: opts.filename }, [{ message: missingInputMessage(opts.filename) }]);
  // With -f -, buildx calls the piped text "Dockerfile"; tell the user the name they know.
  const shown = name === "Dockerfile" && opts.filename === "Dockerfile" ? "environment.yml (stdin)" : name;
  return { name: shown, data, text: utf8(data), ignore: ignoreBytes ? parseDockerignore(utf8(ignoreBytes)) : undefined, conventionalLock: lock, conventionalLockName: lockName };
}

export async function readContextIgnore(bridge: Bridge, opts: BuildOptions): Promise<string[]> {
  const { ref, present } = await transfer(bridge, opts, opts.contextLocal, [".dockerignore"], "[internal] load .dockerignore", `${opts.contextLocal}-dockerignore`);
  if (!present.has(".dockerignore")) return [];
  return parseDockerignore(utf8(await bridge.readFile(ref, ".dockerignore")));
}

/** A file in the input file's folder (a lock named by image.lockfile or LOCKFILE). */
export async function readBesideInput(bridge: Bridge, opts: BuildOptions, path: string): Promise<Uint8Array | undefined> {
  const clean = path.replace(/^(\.\/)+/, "");
  const { ref } = await transfer(bridge, opts, opts.dockerfileLocal, [clean], `[internal] load ${clean}`, `${opts.dockerfileLocal}-lock`);
  try {
    return await bridge.readFile(ref, clean);
  } catch {
    return undefined;
  }
}
