// Channels as users write them: names (`conda-forge`), full URLs, `nodefaults`. A name becomes
// <alias>/<name>, the alias being conda's default or CONDA_CHANNEL_ALIAS (a private mirror).

export const defaultChannelAlias = "https://conda.anaconda.org";

export interface ResolvedChannel {
  /** As written in environment.yml (or the spec's `channel::`). */
  name: string;
  /** Base URL without a trailing slash. */
  url: string;
}

export class ChannelError extends Error {}

export function resolveChannel(name: string, alias = defaultChannelAlias): ResolvedChannel {
  const trimmed = name.trim();
  if (!trimmed) throw new ChannelError("empty channel name");
  if (/^(https?|file):\/\//.test(trimmed)) return { name: trimmed, url: trimmed.replace(/\/+$/, "") };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new ChannelError(`unsupported channel URL scheme in ${JSON.stringify(trimmed)}: use http(s)://`);
  if (trimmed === "defaults") throw new ChannelError(`the "defaults" channel needs Anaconda's terms of service and is not supported; use conda-forge or a full URL`);
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(trimmed)) throw new ChannelError(`invalid channel name ${JSON.stringify(trimmed)}`);
  return { name: trimmed, url: `${alias.replace(/\/+$/, "")}/${trimmed}` };
}

/** environment.yml's channel list, in priority order, without `nodefaults` and duplicates. */
export function resolveChannels(names: string[], alias?: string): ResolvedChannel[] {
  const out: ResolvedChannel[] = [];
  for (const n of names) {
    if (n.trim() === "nodefaults") continue;
    const c = resolveChannel(n, alias);
    if (!out.some((o) => o.url === c.url)) out.push(c);
  }
  return out;
}
