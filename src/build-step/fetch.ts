// `conda-frontend fetch <request.json>`: one package downloaded and verified into a
// folder, with the conda-auth secret's headers for a private channel. The frontend's own steps
// download in `install --group`; this is the tool for scripts that install package by package
// (the hand-written recipe the bench compares with).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readAuthHeaders } from "../conda/auth";
import type { FetchRequest } from "../conda/fetch-request";


export async function runFetch(requestPath: string): Promise<number> {
  const req = JSON.parse(readFileSync(requestPath, "utf8")) as FetchRequest;
  try {
    const headers = new Headers(readAuthHeaders());
    const res = await fetch(req.url, { headers });
    if (!res.ok) throw new Error(`${req.url}: HTTP ${res.status}${res.status === 401 || res.status === 403 ? ": the channel refused the conda-auth secret's credentials" : ""}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const [algo, want] = req.sha256 ? ["sha256", req.sha256] : req.md5 ? ["md5", req.md5] : [undefined, undefined];
    if (!algo) throw new Error(`${req.filename}: no sha256 or md5 to verify the download with`);
    const got = createHash(algo).update(bytes).digest("hex");
    if (got !== want) throw new Error(`${req.filename} from ${req.url}: ${algo} mismatch: the lock says ${want}, the download is ${got}`);
    mkdirSync(req.out, { recursive: true });
    writeFileSync(join(req.out, req.filename), bytes, { mode: 0o644 });
    process.stderr.write(`${req.filename}: ${bytes.length} bytes, ${algo} verified\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`conda-frontend fetch: ${(e as Error).message}\n`);
    return 1;
  }
}
