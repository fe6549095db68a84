// noarch: python packages are built once for every Python: their files are placed by the
// environment's python (site-packages/ -> lib/pythonX.Y/site-packages/, python-scripts/ -> bin/),
// and their console scripts are written at install time from info/link.json.

export interface PythonInfo {
  /** major.minor, e.g. 3.12. */
  version: string;
  /** Relative to the prefix, e.g. lib/python3.12/site-packages. */
  sitePackages: string;
  /** Relative to the prefix, e.g. bin/python3.12. */
  interpreter: string;
}

export class NoarchError extends Error {}

/** What python a noarch package will run with, from the python package's record. */
export function pythonInfo(version: string, build: string, sitePackagesPath?: string): PythonInfo {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new NoarchError(`cannot read python's major.minor from version ${JSON.stringify(version)}`);
  // Free-threaded builds (cp313t) have their own lib/ and interpreter names.
  const t = /cp\d+t/.test(build) ? "t" : "";
  const xy = `${m[1]}.${m[2]}`;
  return { version: xy, sitePackages: sitePackagesPath ?? `lib/python${xy}${t}/site-packages`, interpreter: `bin/python${xy}${t}` };
}

export function noarchPythonPath(path: string, py: PythonInfo): string {
  if (path.startsWith("site-packages/")) return `${py.sitePackages}/${path.slice("site-packages/".length)}`;
  if (path.startsWith("python-scripts/")) return `bin/${path.slice("python-scripts/".length)}`;
  return path;
}

export interface EntryPoint {
  command: string;
  module: string;
  /** e.g. main, or App.run */
  func: string;
}

const dotted = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function parseEntryPoint(spec: string): EntryPoint {
  const m = /^\s*([^=\s]+)\s*=\s*([^:\s]+)\s*:\s*([^\s[]+)\s*(\[.*\])?\s*$/.exec(spec);
  if (!m) throw new NoarchError(`invalid entry point ${JSON.stringify(spec)}: expected "command = module:function"`);
  const [, command, module, func] = m as unknown as [string, string, string, string];
  if (command.includes("/") || command.includes("\\") || command.includes("\0") || command.startsWith(".")) {
    throw new NoarchError(`invalid entry point command ${JSON.stringify(command)}: it must be a plain file name`);
  }
  if (!dotted.test(module)) throw new NoarchError(`invalid entry point module ${JSON.stringify(module)} in ${JSON.stringify(spec)}`);
  if (!dotted.test(func)) throw new NoarchError(`invalid entry point function ${JSON.stringify(func)} in ${JSON.stringify(spec)}`);
  return { command, module, func };
}

/** The shebang for a script run by the environment's python. */
export function pythonShebang(prefix: string, py: PythonInfo): string {
  const interpreter = `${prefix}/${py.interpreter}`;
  // The kernel reads 127 bytes of a shebang and splits at spaces: too long or with a space,
  // start through /bin/sh, which then execs python on the script (the line is a no-op to python).
  if (interpreter.length > 125 || interpreter.includes(" ")) {
    return `#!/bin/sh\n'''exec' "${interpreter}" "$0" "$@" #'''`;
  }
  return `#!${interpreter}`;
}

export function entryPointScript(ep: EntryPoint, prefix: string, py: PythonInfo): string {
  const first = ep.func.split(".")[0]!;
  return `${pythonShebang(prefix, py)}
# -*- coding: utf-8 -*-
import re
import sys

from ${ep.module} import ${first}

if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(${ep.func}())
`;
}
