// The OCI image config of the result: the base image's config, with our settings applied the
// way Docker applies ENV / ENTRYPOINT / CMD / USER / WORKDIR / LABEL / EXPOSE / HEALTHCHECK /
// STOPSIGNAL on top of a FROM.
import type { PbPlatform } from "../llb/pb";
import { utcIso } from "../utc-time";

export interface ImageConfigBody {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
  StopSignal?: string;
  [other: string]: unknown;
}

export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  config: ImageConfigBody;
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [other: string]: unknown;
}

export interface ImageSettings {
  platform: PbPlatform;
  /** Variables in order; a later one replaces an earlier one of the same name. */
  env: [string, string][];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workdir?: string;
  labels: Record<string, string>;
  ports: string[];
  healthcheck?: ImageConfigBody["Healthcheck"];
  stopSignal?: string;
  /** SOURCE_DATE_EPOCH, seconds: the image's creation time. */
  sourceDateEpoch?: number;
  /** What each layer we add above the base holds, bottom to top (see layerHistory). */
  history?: string[];
}

/** Parses the base config the daemon resolved; a scratch base has none. */
export function parseBaseConfig(bytes: Uint8Array | undefined, platform: PbPlatform): OciImageConfig {
  if (bytes && bytes.length) {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as OciImageConfig;
    parsed.config ??= {};
    parsed.rootfs ??= { type: "layers", diff_ids: [] };
    return parsed;
  }
  return { architecture: platform.Architecture, os: platform.OS, config: {}, rootfs: { type: "layers", diff_ids: [] } };
}

/** Sets a variable the way Docker's ENV does: replaced where it is, or added at the end. */
export function setEnv(env: readonly string[], name: string, value: string): string[] {
  const entry = `${name}=${value}`;
  const at = env.findIndex((e) => e.split("=", 1)[0] === name);
  if (at < 0) return [...env, entry];
  return env.flatMap((e, i) => (i === at ? [entry] : e.split("=", 1)[0] === name ? [] : [e]));
}

export function getEnv(env: readonly string[] | undefined, name: string): string | undefined {
  const hit = [...(env ?? [])].reverse().find((e) => e.split("=", 1)[0] === name);
  return hit?.slice(name.length + 1);
}

/**
 * The base's history, then one entry per layer we add. Without entries of our own, the exporter
 * names each layer after the ref it came from, which differs between a layer built here
 * ("mount /out from exec ...") and the same layer taken from an imported cache ("imported
 * sha256:..."): the same image would get another config digest. A base whose history accounts
 * for fewer layers than it has gets placeholders first, so ours describe our layers.
 */
export function layerHistory(base: OciImageConfig, ours: string[]): NonNullable<OciImageConfig["history"]> {
  const history = [...(base.history ?? [])];
  const described = history.filter((h) => !h.empty_layer).length;
  for (let i = described; i < (base.rootfs?.diff_ids ?? []).length; i++) history.push({ created_by: "(a layer of the base image)" });
  return [...history, ...ours.map((created_by) => ({ created_by, comment: "conda-frontend" }))];
}

export function buildImageConfig(base: OciImageConfig, s: ImageSettings): OciImageConfig {
  const config: ImageConfigBody = { ...base.config };
  let env = [...(config.Env ?? [])];
  for (const [k, v] of s.env) env = setEnv(env, k, v);
  config.Env = env;
  if (s.entrypoint) {
    config.Entrypoint = s.entrypoint;
    // Like Docker: a new ENTRYPOINT drops the CMD inherited from the base.
    config.Cmd = s.cmd ?? null;
  } else if (s.cmd) {
    config.Cmd = s.cmd;
  }
  if (s.user !== undefined) config.User = s.user;
  if (s.workdir !== undefined) config.WorkingDir = s.workdir;
  const labels = { ...(config.Labels ?? {}), ...s.labels };
  if (Object.keys(labels).length) config.Labels = labels;
  if (s.ports.length) {
    const ports: Record<string, object> = { ...(config.ExposedPorts ?? {}) };
    for (const p of s.ports) ports[p.includes("/") ? p : `${p}/tcp`] = {};
    config.ExposedPorts = ports;
  }
  if (s.healthcheck) config.Healthcheck = s.healthcheck;
  if (s.stopSignal) config.StopSignal = s.stopSignal;

  const out: OciImageConfig = {
    ...base,
    architecture: s.platform.Architecture,
    os: s.platform.OS,
    config,
    rootfs: { type: "layers", diff_ids: base.rootfs?.diff_ids ?? [] },
    history: layerHistory(base, s.history ?? []),
  };
  if (s.platform.Variant) out.variant = s.platform.Variant;
  else delete out.variant;
  // Without SOURCE_DATE_EPOCH the exporter sets `created` from the layers' history (stable across
  // cached rebuilds); the base's own creation time must not leak into ours. With it, we say so
  // ourselves: Docker's classic-store exporter ignores the epoch the frontend passes along.
  delete out.created;
  if (s.sourceDateEpoch !== undefined) out.created = utcIso(s.sourceDateEpoch);
  return out;
}
