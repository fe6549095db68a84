// A named build context as LLB: a client folder (only the paths read from it are sent) or an
// image's filesystem (from a registry, or from an OCI layout folder the client serves). The app layer copies from it; the frontend reads a lock from it.
import { State } from "../llb";
import type { PbPlatform } from "../llb/pb";
import type { NamedContext } from "../plan/contexts";

export interface ContextStateOptions {
  platform: PbPlatform;
  /** The build's session: a local is sent in it unless buildx named another. */
  sessionId: string;
  /** Paths to send of a folder (undefined: all of it). */
  include?: string[];
  resolveMode?: "default" | "pull" | "local";
}

export function namedContextState(name: string, context: NamedContext, opts: ContextStateOptions): State {
  if (context.kind === "local") {
    return State.local(context.local, {
      sessionId: context.sessionId ?? opts.sessionId,
      include: opts.include,
      sharedKeyHint: `context:${name}`,
      name: `[context ${name}] load ${context.local}`,
    });
  }
  if (context.kind === "oci-layout") {
    return State.ociLayout(context.ref, opts.platform, { sessionId: opts.sessionId, storeId: context.store, name: `[context ${name}] OCI layout ${context.ref}` });
  }
  return State.image(context.ref, opts.platform, { resolveMode: opts.resolveMode, name: `[context ${name}] ${context.ref}` });
}
