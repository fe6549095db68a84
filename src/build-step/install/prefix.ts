// Rewriting the build prefix (the placeholder) to the install prefix, as conda and mamba do.
//   text mode:   every occurrence replaced; then a too-long shebang is shortened.
//   binary mode: each C string containing the placeholder is rewritten in place and padded with
//                NULs before its terminator, so the file keeps its length and offsets.

export class PrefixError extends Error {}

/** The longest shebang line the Linux kernel reads (BINPRM_BUF_SIZE 128, minus the newline). */
export const maxShebangLength = 127;

function replaceAll(data: Buffer, from: Buffer, to: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let hit = data.indexOf(from, at); hit >= 0; hit = data.indexOf(from, at)) {
    parts.push(data.subarray(at, hit), to);
    at = hit + from.length;
  }
  if (at === 0) return data;
  parts.push(data.subarray(at));
  return Buffer.concat(parts);
}

/**
 * A shebang longer than the kernel reads is cut short and breaks the script. Like conda and
 * mamba, rewrite it to `#!/usr/bin/env <interpreter name><arguments>`.
 */
export function fixShebang(data: Buffer): Buffer {
  if (data.length < 2 || data[0] !== 0x23 || data[1] !== 0x21) return data;
  const eol = data.indexOf(0x0a);
  const lineEnd = eol < 0 ? data.length : eol;
  if (lineEnd <= maxShebangLength) return data;
  const line = data.toString("utf8", 2, lineEnd);
  const m = /^\s*(\S+)(.*)$/.exec(line);
  if (!m) return data;
  const interpreter = m[1]!.slice(m[1]!.lastIndexOf("/") + 1);
  return Buffer.concat([Buffer.from(`#!/usr/bin/env ${interpreter}${m[2]}`), data.subarray(lineEnd)]);
}

export function replaceText(data: Buffer, placeholder: string, prefix: string): Buffer {
  const replaced = replaceAll(data, Buffer.from(placeholder), Buffer.from(prefix));
  return replaced === data ? data : fixShebang(replaced);
}

/**
 * Binary mode. A prefix longer than the placeholder cannot fit: an error (never grow the file).
 * A placeholder at the very end of the file without a terminating NUL is treated as a string
 * ending at the end of the file: replaced and padded all the same, so the length is kept.
 */
export function replaceBinary(data: Buffer, placeholder: string, prefix: string, fileName: string): Buffer {
  const from = Buffer.from(placeholder);
  const to = Buffer.from(prefix);
  if (data.indexOf(from) < 0) return data;
  if (to.length > from.length) {
    throw new PrefixError(`${fileName}: the install prefix ${JSON.stringify(prefix)} (${to.length} bytes) is longer than the package's binary placeholder (${from.length} bytes), so it cannot be patched in; choose a shorter image.prefix`);
  }
  const out = Buffer.from(data);
  let at = out.indexOf(from);
  while (at >= 0) {
    let end = out.indexOf(0, at);
    if (end < 0) end = out.length;
    const original = out.subarray(at, end);
    let count = 0;
    const rewritten = replaceAll(Buffer.from(original), from, to);
    for (let i = original.indexOf(from); i >= 0; i = original.indexOf(from, i + from.length)) count++;
    const padding = Buffer.alloc(count * (from.length - to.length));
    Buffer.concat([rewritten, padding]).copy(out, at);
    at = out.indexOf(from, end);
  }
  return out;
}
