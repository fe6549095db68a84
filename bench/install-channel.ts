// A generated channel of N real .conda packages for the install benchmarks: each ships a few
// shared-library-sized binaries, headers, text files with the placeholder, and python modules,
// with a dependency chain so the environment installs in layers. Deterministic content.
// With `tiny`, each package ships one small text file instead (1000 of them install ~1 MiB):
// what is left of a build's time is then its per-package cost.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FileSpec, writePackage } from "../test/build-step/install/make-package";

const placeholder = "/opt/conda-bld/bench_placehold_placehold_placehold_placehold_placehold_placehold_placehold_placehold_placehold";

/** Pseudo-random but fixed bytes that compress like machine code (not like zeros). */
function blob(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(seed).digest();
  for (let at = 0; at < size; at += 32) {
    block = createHash("sha256").update(block).digest();
    block.copy(out, at, 0, Math.min(32, size - at));
    if (at % 256 === 0) out.fill(0, at, Math.min(size, at + 96)); // runs of zeros, as in ELF
  }
  return out;
}

export interface BenchPackage {
  name: string;
  version: string;
}

export interface ChannelOptions {
  /** One ~1 KiB text file per package instead of binaries, headers and modules. */
  tiny?: boolean;
}

export async function generateInstallChannel(dir: string, count: number, version = (i: number) => "1.0", opts: ChannelOptions = {}): Promise<BenchPackage[]> {
  const records: Record<string, object> = {};
  const sub = join(dir, "linux-64");
  mkdirSync(sub, { recursive: true });
  mkdirSync(join(dir, "noarch"), { recursive: true });
  writeFileSync(join(dir, "noarch", "repodata.json"), JSON.stringify({ info: { subdir: "noarch" }, packages: {} }));
  const out: BenchPackage[] = [];
  for (let i = 0; i < count; i++) {
    const name = `benchpkg${String(i).padStart(3, "0")}`;
    const v = version(i);
    const files: FileSpec[] = opts.tiny ? [{ path: `share/${name}/${name}.txt`, content: `${name} ${v}\n`.repeat(64) }] : [
      { path: `lib/lib${name}.so.1`, content: blob(`${name}-${v}-so`, 150_000 + (i % 7) * 40_000), mode: 0o755 },
      { path: `lib/lib${name}.so`, linkTarget: `lib${name}.so.1` },
      { path: `include/${name}.h`, content: `#define ${name.toUpperCase()} 1\n`.repeat(200) },
      { path: `share/${name}/config.txt`, content: `prefix=${placeholder}\n`.repeat(20), prefixPlaceholder: placeholder },
      ...Array.from({ length: 12 }, (_, k) => ({ path: `lib/python3.12/site-packages/${name}/mod${k}.py`, content: `# ${name} module ${k}\n` + `def f${k}(x):\n    return x * ${k}\n`.repeat(60) })),
    ];
    const depends = i > 0 ? [`benchpkg${String(Math.floor(i / 2)).padStart(3, "0")}`] : [];
    const build = `h${createHash("sha256").update(name + v).digest("hex").slice(0, 7)}_0`;
    const w = await writePackage(sub, { index: { name, version: v, build, build_number: 0, depends, subdir: "linux-64", license: "MIT" }, files });
    records[w.filename] = { name, version: v, build, build_number: 0, depends, subdir: "linux-64", md5: w.md5, sha256: w.sha256, size: w.bytes.length };
    out.push({ name, version: v });
  }
  writeFileSync(join(sub, "repodata.json"), JSON.stringify({ info: { subdir: "linux-64" }, packages: {}, "packages.conda": records }));
  return out;
}
