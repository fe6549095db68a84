// `conda-frontend fetch <request.json>`: one package downloaded (retried, verified; the install
// steps' own downloader, ../download.ts) into a folder under its file name, sending the
// conda-auth secret's headers. The frontend's steps download in
// `install --group`; this is the tool for scripts that install package by package (the
// hand-written recipe the bench compares with).
import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { readAuthHeaders } from "../conda/auth";
import type { FetchRequest } from "../conda/fetch-request";
import { downloadOne } from "./download";

export async function runFetch(requestPath: string): Promise<number> {
  try {
    const req = JSON.parse(readFileSync(requestPath, "utf8")) as FetchRequest;
    const auth = readAuthHeaders();
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const kept = await downloadOne(req, { cache: req.out, parallel: 1, attempts: 5, backoffMs: 500, headers: () => auth, log });
    renameSync(kept, join(req.out, req.filename));
    return 0;
  } catch (e) {
    process.stderr.write(`conda-frontend fetch: ${(e as Error).message}\n`);
    return 1;
  }
}
