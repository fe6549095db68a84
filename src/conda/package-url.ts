// Where a package comes from, as conda names it: the channel and subdir in its URL, the channel's
// canonical name, the history's name of the package. The install step writes them into
// conda-meta; the frontend writes conda-meta/history from the same functions.

/** The channel and subdir of a package URL, without credentials (user:password@ or /t/<token>/). */
export function channelAndSubdir(url: string): { channel: string; subdir: string } {
  // https://conda.anaconda.org/conda-forge/linux-64/x.conda -> https://conda.anaconda.org/conda-forge, linux-64
  const u = new URL(url);
  const parts = u.pathname.split("/").filter(Boolean);
  if (parts[0] === "t" && parts.length > 1) parts.splice(0, 2);
  const subdir = parts.length >= 2 ? parts[parts.length - 2]! : "";
  return { channel: `${u.protocol}//${u.host}/${parts.slice(0, -2).join("/")}`.replace(/\/$/, ""), subdir };
}

/** The channel as conda-meta records it: conda writes the channel's URL with the subdir. */
export function channelOf(url: string): string {
  const { channel, subdir } = channelAndSubdir(url);
  return subdir ? `${channel}/${subdir}` : channel;
}

/**
 * The channel's name as conda's history names it (conda's Channel.canonical_name): a channel of
 * the default channel alias, https://conda.anaconda.org, by its name (conda-forge); any other by
 * its URL.
 */
export function canonicalChannel(url: string): string {
  const { channel } = channelAndSubdir(url);
  const alias = "https://conda.anaconda.org/";
  return channel.startsWith(alias) ? channel.slice(alias.length) : channel;
}

/** A package as conda's history lists it: channel/subdir::name-version-build (conda's dist_str). */
export function historyName(p: { url: string; name: string; version: string; build: string }): string {
  const { subdir } = channelAndSubdir(p.url);
  return `${canonicalChannel(p.url)}${subdir ? `/${subdir}` : ""}::${p.name}-${p.version}-${p.build}`;
}
