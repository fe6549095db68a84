// The frontend's view of BuildKit for one build: the connection, what the daemon supports, and
// the handful of operations the stages need (solve, read a file, resolve an image, warn, return).
import type { PbDefinition, PbPlatform, PbRange } from "../llb/pb";
import { validateDefinition } from "../llb/validate";
import { GatewayClient } from "./client";
import type { CacheImport } from "./options";
import type { Result, RpcStatus, Stat } from "./messages";
import { StdioTransport, type UnaryTransport } from "./transport";
import { protoRoot } from "../proto/codec";
import { mark } from "../timing";

export interface ResolvedImage {
  /** The manifest digest to pin the image to. Docker's classic store answers none for an image
   * it already holds locally (it has no manifest for it); the reference is used as it is then. */
  digest?: string;
  config: Uint8Array;
}

/** ResolveImageConfigRequest.ResolverType for an OCI layout store (BuildKit's sourceresolver: registry 0, OCI layout 1). */
const ociLayoutResolver = 1;

export class Bridge {
  private returned = false;
  private cacheImports: CacheImport[] = [];

  private constructor(
    private readonly transport: UnaryTransport,
    readonly client: GatewayClient,
    readonly llbCaps: ReadonlySet<string>,
    readonly frontendCaps: ReadonlySet<string>,
    readonly workerPlatforms: PbPlatform[],
  ) {}

  static async connect(): Promise<Bridge> {
    const transport = new StdioTransport();
    const client = new GatewayClient(transport);
    const pong = await client.ping(() => {
      protoRoot();
      mark("proto");
    });
    const enabled = (caps: { ID: string; Enabled?: boolean }[] | undefined) => new Set((caps ?? []).filter((c) => c.Enabled).map((c) => c.ID));
    const platforms = pong.Workers?.[0]?.platforms ?? [];
    return new Bridge(transport, client, enabled(pong.LLBCaps), enabled(pong.FrontendAPICaps), platforms);
  }

  /**
   * The build's --cache-from, for every solve from now on. BuildKit looks a frontend's steps up
   * in imported caches only when each Solve request names them (it loads each cache once per build).
   */
  importCaches(caches: CacheImport[]): void {
    this.cacheImports = caches;
  }

  /** Solves a definition and returns the ref id of its result. */
  async solve(definition: PbDefinition, opts: { evaluate?: boolean } = {}): Promise<string> {
    validateDefinition(definition);
    const res = await this.client.solve({
      Definition: definition,
      allowResultReturn: true,
      allowResultArrayRef: true,
      ...(this.cacheImports.length ? { CacheImports: this.cacheImports } : {}),
      Evaluate: opts.evaluate ?? false,
    });
    const id = res.result?.ref?.id;
    if (id === undefined) throw new Error("BuildKit returned no ref for a solve");
    return id;
  }

  readFile(ref: string, path: string): Promise<Uint8Array> {
    return this.client.readFile(ref, path);
  }

  readDir(ref: string, path: string): Promise<Stat[]> {
    return this.client.readDir(ref, path);
  }

  /**
   * An image's config and digest for a platform: from a registry, or (`oci`) from the client's
   * OCI layout store in the session. The OCI form uses ResolveImageConfig's OCI resolver on every
   * daemon: BuildKit v0.13 has no other, and newer ones still answer it.
   */
  async resolveImage(ref: string, platform: PbPlatform, resolveMode: string, sessionId: string, oci?: { storeId: string }): Promise<ResolvedImage> {
    const logName = `[internal] load metadata for ${ref}`;
    if (oci) {
      const res = await this.client.resolveImageConfig({ Ref: ref, Platform: platform, LogName: logName, ResolverType: ociLayoutResolver, SessionID: sessionId, StoreID: oci.storeId });
      return { digest: res.Digest || undefined, config: res.Config ?? new Uint8Array() };
    }
    if (this.frontendCaps.has("source.metaresolver")) {
      const res = await this.client.resolveSourceMeta({
        Source: { identifier: `docker-image://${ref}` },
        Platform: platform,
        LogName: logName,
        ResolveMode: resolveMode,
      });
      if (res.Image) return { digest: res.Image.Digest || undefined, config: res.Image.Config ?? new Uint8Array() };
    }
    const res = await this.client.resolveImageConfig({ Ref: ref, Platform: platform, ResolveMode: resolveMode, LogName: logName, SessionID: sessionId });
    return { digest: res.Digest || undefined, config: res.Config ?? new Uint8Array() };
  }

  /** A warning the user sees in the build output (stderr is not shown to buildx users). */
  async warn(message: string, source?: { filename: string; data: Uint8Array; ranges: PbRange[] }): Promise<void> {
    if (!this.frontendCaps.has("gateway.warnings")) {
      process.stderr.write(`warning: ${message}\n`);
      return;
    }
    await this.client.warn({
      level: 1,
      short: Buffer.from(message),
      ...(source && source.ranges.length ? { info: { filename: source.filename, data: source.data, language: "YAML" }, ranges: source.ranges } : {}),
    });
  }

  async returnResult(result: Result): Promise<void> {
    this.returned = true;
    await this.client.return({ result });
  }

  async returnError(error: RpcStatus): Promise<void> {
    if (this.returned) return;
    this.returned = true;
    await this.client.return({ error });
  }

  close(): void {
    this.transport.close();
  }
}
