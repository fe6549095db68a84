// A tar reader fed chunk by chunk: ustar headers with pax (x, g) and GNU long-name (L, K)
// extensions. Each entry's bytes go to a sink as they arrive, so a package of any size is read
// with one chunk in memory (plus a header that straddles two chunks). Everything in a header is
// the archive's word: sizes, lengths and numbers are checked before they are used.

export type EntryType = "file" | "symlink" | "directory" | "hardlink";

export interface TarHeader {
  /** Path as stored, without a leading "./" or a trailing "/". */
  path: string;
  type: EntryType;
  mode: number;
  /** Bytes of data that follow (0 for links and folders). */
  size: number;
  /** Link target for symlinks and hard links. */
  linkname?: string;
  /** Modification time, seconds. */
  mtime: number;
}

/**
 * Where one entry's data goes. Chunks are views into the buffers pushed to the reader; the
 * package readers (archive.ts) never reuse one, so a sink may keep views without copying.
 */
export interface EntrySink {
  data(chunk: Buffer): void;
  end(): void;
}

/** Called per entry; `undefined` skips the entry's data. */
export type EntryHandler = (header: TarHeader) => EntrySink | undefined;

export class ArchiveError extends Error {}

/** The most a pax or GNU long-name record may hold: real ones are a few hundred bytes. */
export const maxExtensionSize = 1024 * 1024;

/** A NUL-terminated text field. */
function field(block: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return block.toString("utf8", start, end);
}

/** A numeric field: octal text (leading spaces, ended by NUL or space), or GNU base-256. */
function numeric(block: Buffer, start: number, length: number, what: string): number {
  let n = 0;
  if (block[start]! & 0x80) {
    if (block[start]! & 0x40) throw new ArchiveError(`corrupt tar: negative ${what}`);
    n = block[start]! & 0x3f;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + block[i]!;
  } else {
    let i = start;
    while (i < start + length && block[i] === 0x20) i++;
    for (; i < start + length; i++) {
      const digit = block[i]! - 0x30;
      if (digit < 0 || digit > 7) break;
      n = n * 8 + digit;
    }
  }
  if (!Number.isSafeInteger(n)) throw new ArchiveError(`corrupt tar: ${what} out of range`);
  return n;
}

/** The header's checksum: the sum of its bytes, with the checksum field itself counted as spaces. */
function headerSum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < 512; i++) sum += block[i]!;
  return sum;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (block[i] !== 0) return false;
  return true;
}

/** "ustar\0" (POSIX) or "ustar " (GNU) at 257. */
function hasUstarMagic(b: Buffer): boolean {
  return b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && (b[262] === 0 || b[262] === 0x20);
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
export function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    const lengthText = space < 0 ? "" : data.toString("latin1", at, space);
    const length = /^[0-9]{1,10}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length > space - at + 1) || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw new ArchiveError(`corrupt tar: bad pax record at byte ${at} of an extended header`);
    }
    const record = data.toString("utf8", space + 1, at + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** A pax number (size, mtime): decimal, possibly with a fraction for times. */
function paxNumber(value: string, key: string, fraction: boolean): number {
  const ok = fraction ? /^-?[0-9]{1,16}(\.[0-9]*)?$/ : /^[0-9]{1,16}$/;
  if (!ok.test(value)) throw new ArchiveError(`corrupt tar: pax ${key} ${JSON.stringify(value.slice(0, 40))} is not a number`);
  const n = Math.floor(Number(value));
  if (!Number.isSafeInteger(n)) throw new ArchiveError(`corrupt tar: pax ${key} out of range`);
  return n;
}

const entryTypes: Record<string, EntryType | undefined> = { "0": "file", "\0": "file", "7": "file", "2": "symlink", "5": "directory", "1": "hardlink" };

type State =
  | { kind: "header" }
  | { kind: "data"; remaining: number; padding: number; sink: EntrySink | undefined }
  | { kind: "extension"; flag: string; parts: Buffer[]; remaining: number; padding: number }
  | { kind: "padding"; remaining: number }
  | { kind: "done" };

/**
 * Feed it with push(); call end() after the last chunk: a tar cut short is an error there.
 * Errors are ArchiveErrors, thrown from push/end.
 */
export class TarReader {
  private state: State = { kind: "header" };
  private partial: Buffer | undefined; // the start of a header that straddles chunks
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;
  private offset = 0; // of the next byte, for messages

  constructor(private readonly onEntry: EntryHandler) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const state = this.state;
      switch (state.kind) {
        case "done":
          return; // what follows the end-of-archive blocks is ignored, as tar does
        case "header": {
          let block: Buffer;
          if (this.partial) {
            const need = 512 - this.partial.length;
            const take = chunk.subarray(at, at + need);
            this.partial = Buffer.concat([this.partial, take]);
            at += take.length;
            if (this.partial.length < 512) return;
            block = this.partial;
            this.partial = undefined;
          } else if (chunk.length - at < 512) {
            this.partial = Buffer.from(chunk.subarray(at));
            return;
          } else {
            block = chunk.subarray(at, at + 512);
            at += 512;
          }
          this.header(block);
          this.offset += 512;
          break;
        }
        case "data":
        case "extension":
        case "padding": {
          const take = Math.min(state.remaining, chunk.length - at);
          const piece = chunk.subarray(at, at + take);
          at += take;
          this.offset += take;
          state.remaining -= take;
          if (state.kind === "data") {
            if (take) state.sink?.data(piece);
            if (state.remaining === 0) {
              state.sink?.end();
              this.state = state.padding ? { kind: "padding", remaining: state.padding } : { kind: "header" };
            }
          } else if (state.kind === "extension") {
            if (take) state.parts.push(piece);
            if (state.remaining === 0) {
              this.extension(state.flag, Buffer.concat(state.parts));
              this.state = state.padding ? { kind: "padding", remaining: state.padding } : { kind: "header" };
            }
          } else if (state.remaining === 0) this.state = { kind: "header" };
          break;
        }
      }
    }
  }

  end(): void {
    const s = this.state;
    if (s.kind === "done") return;
    if (s.kind === "header" && !this.partial && this.offset > 0) {
      // Some writers leave out the two zero blocks: accept an archive that ends between entries.
      return;
    }
    throw new ArchiveError(`corrupt tar: truncated at byte ${this.offset}${s.kind === "data" ? " inside an entry's data" : ""}`);
  }

  private header(block: Buffer): void {
    const at = this.offset;
    if (isZeroBlock(block)) {
      this.state = { kind: "done" };
      return;
    }
    if (!hasUstarMagic(block)) throw new ArchiveError(`corrupt tar: no ustar header at offset ${at}`);
    if (headerSum(block) !== numeric(block, 148, 8, "checksum")) throw new ArchiveError(`corrupt tar: bad header checksum at offset ${at}`);
    const flag = String.fromCharCode(block[156]!);
    let size = numeric(block, 124, 12, "size");
    if (this.pax.size !== undefined && flag !== "x" && flag !== "g") size = paxNumber(this.pax.size, "size", false);
    const padding = (512 - (size % 512)) % 512;
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > maxExtensionSize) throw new ArchiveError(`corrupt tar: an extended header of ${size} bytes at offset ${at} (at most ${maxExtensionSize})`);
      this.state = { kind: "extension", flag, parts: [], remaining: size, padding };
      if (size === 0) {
        this.extension(flag, Buffer.alloc(0));
        this.state = { kind: "header" };
      }
      return;
    }
    const prefix = field(block, 345, 155);
    const name = this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const linkname = this.pax.linkpath ?? this.longLink ?? field(block, 157, 100);
    const mtime = this.pax.mtime !== undefined ? paxNumber(this.pax.mtime, "mtime", true) : numeric(block, 136, 12, "mtime");
    const mode = numeric(block, 100, 8, "mode") & 0o7777;
    this.pax = {};
    this.longName = this.longLink = undefined;
    const type = entryTypes[flag];
    // Devices and fifos are never in a conda package: their data (none, normally) is skipped.
    const sink = type ? this.onEntry({ path: name.replace(/^(\.\/)+/, "").replace(/\/+$/, ""), type, mode, size, linkname: linkname || undefined, mtime }) : undefined;
    if (size === 0) {
      sink?.end();
      this.state = { kind: "header" };
    } else this.state = { kind: "data", remaining: size, padding, sink };
  }

  private extension(flag: string, data: Buffer): void {
    if (flag === "x") this.pax = { ...this.pax, ...paxRecords(data) };
    else if (flag === "L") this.longName = data.toString("utf8").replace(/\0+$/, "");
    else if (flag === "K") this.longLink = data.toString("utf8").replace(/\0+$/, "");
    // "g": global pax records; nothing in them matters here.
  }
}
