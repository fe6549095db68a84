// Which reader an input file takes, by its name: environment.yml (and any other name) is conda's
// YAML; pixi.toml and pyproject.toml are pixi manifests (PIXI_ENVIRONMENT picks the
// environment). The lock read beside the file follows the same choice: conda-lock.yml beside
// environment.yml, pixi.lock beside a pixi manifest; a lock is read as pixi.lock by its name.
import { parseEnvironment, type EnvironmentSpec } from "./environment";
import type { Problem } from "./errors";
import { type Lock, readLock } from "./lock";
import { parsePixiManifest, pixiInputKind } from "./pixi-manifest";
import { readPixiLock } from "./pixi-lock";
import { readImageSection } from "./image-section";
import { sourceFile } from "./source";
import { YamlReader } from "./yaml-reader";

export interface InputSpec extends EnvironmentSpec {
  /** Settings of the file that were read and not applied: shown as warnings. */
  inputWarnings: Problem[];
  /** A pixi manifest (its lock is pixi.lock, and a build without one is not reproducible). */
  pixi: boolean;
  /** A pixi manifest's environments, of which PIXI_ENVIRONMENT picks one (--call outline, targets). */
  pixiEnvironments?: string[];
}

/** The environment the build arg PIXI_ENVIRONMENT names, else pixi's "default". */
export function pixiEnvironment(buildArgs: Record<string, string>): string {
  return buildArgs.PIXI_ENVIRONMENT || "default";
}

export function parseInputSpec(fileName: string, text: string, buildArgs: Record<string, string>): InputSpec {
  const kind = pixiInputKind(fileName);
  if (kind === "pixi.lock") return lockOnlySpec(fileName, text);
  if (kind === "pixi.toml" || kind === "pyproject.toml") {
    const spec = parsePixiManifest(fileName, text, { environment: pixiEnvironment(buildArgs) });
    return { ...spec, inputWarnings: spec.warnings, pixi: true, pixiEnvironments: spec.environmentNames };
  }
  return { ...parseEnvironment(fileName, text), inputWarnings: [], pixi: false };
}

/**
 * `-f pixi.lock`: the lock is the whole input (the frontend reads it as the build's lock, with
 * PIXI_ENVIRONMENT). Nothing to solve; the image settings are the defaults and the build args
 * (BASE_IMAGE, PREFIX...), since a lock has no image section.
 */
function lockOnlySpec(fileName: string, text: string): InputSpec {
  const file = sourceFile(fileName, text);
  return { file, channels: [], dependencies: [], pip: [], variables: [], image: readImageSection(new YamlReader(file), null), inputWarnings: [], pixi: false };
}

/** The lock looked for beside the input file when none is named. */
export function conventionalLockNameFor(inputName: string): string {
  const kind = pixiInputKind(inputName);
  if (kind === "pixi.lock") return inputName; // the input is the lock
  return kind === "pixi.toml" || kind === "pyproject.toml" ? "pixi.lock" : "conda-lock.yml";
}

/** A lock file by its name: pixi.lock (the build's environment, for the subdirs built), else conda-lock.yml or @EXPLICIT. */
export function readAnyLock(fileName: string, text: string, subdirs: string[], buildArgs: Record<string, string>): Lock {
  if (pixiInputKind(fileName) === "pixi.lock") return readPixiLock(fileName, text, { environment: pixiEnvironment(buildArgs), subdirs });
  return readLock(fileName, text, subdirs.length === 1 ? subdirs[0] : undefined);
}
