# The pip step's program (src/stages/pip.ts). BuildKit runs it on the image being built, as root,
# with the environment's own python:
#
#   <prefix>/bin/python /in/pip_step.py /in/requirements.txt /in/prune.json /report/.pip.json
#
# The frontend writes this file, the requirements (environment.yml's `pip:` list, one a line) and
# the rules into the step's input, so all three are part of the step's cache key. The program runs
# pip on the requirements, then removes what the prune rules exclude from the files pip recorded
# (RECORD) for the distributions it installed (not those of conda packages), and writes the step's
# report: sizes, and the distributions installed (name, version) for the SBOM (src/conda/prune/report.ts reads it). The rules come from the frontend
# (src/conda/prune/rules.ts, the source of truth) as regular expressions over paths relative to the
# prefix: {"compile": bool, "remove": [[glob, regex], ...], "keep": [regex, ...]}; this file holds
# no rule of its own.
#
# Any CPython 3 the environment has may run it: standard library only, nothing newer than 3.5.
# Exit 0: installed (and pruned); 1: pip failed (its message is in the step's log; no report).
# Tests: test/build-step/python/test_pip_step.py.
import json
import os
import re
import subprocess
import sys


def site_packages():
    """The environment's site-packages folders, from the running python's path."""
    return [p for p in sys.path if p.endswith("site-packages")]


def dist_infos(site):
    """The .dist-info folders (one per installed distribution) in the given site-packages."""
    return {os.path.join(sp, e) for sp in site if os.path.isdir(sp) for e in os.listdir(sp) if e.endswith(".dist-info")}


def recorded(dist_info):
    """The files a distribution's RECORD lists, as normalised absolute paths (none without RECORD)."""
    record = os.path.join(dist_info, "RECORD")
    if not os.path.isfile(record):
        return []
    base = os.path.dirname(dist_info)
    with open(record, encoding="utf-8") as f:
        return [os.path.normpath(os.path.join(base, line.rsplit(",", 2)[0])) for line in f if line.strip()]


def distribution(dist_info):
    """{"name", "version"} of a distribution (for the SBOM): its METADATA's Name and Version headers,
    else what the folder's name says (name-version.dist-info)."""
    folder = os.path.basename(dist_info)[: -len(".dist-info")]
    name, _, version = folder.partition("-")
    headers = {}
    path = os.path.join(dist_info, "METADATA")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the headers end at the first empty line; the description follows
                key, sep, value = line.partition(":")
                if sep and key in ("Name", "Version") and key not in headers:
                    headers[key] = value.strip()
    return {"name": headers.get("Name", name), "version": headers.get("Version", version)}


def load_rules(path):
    """(compile, remove, keep): whether pip compiles .pyc, [(glob, regex)] and [regex]."""
    with open(path, encoding="utf-8") as f:
        rules = json.load(f)
    remove = [(g, re.compile(r)) for g, r in rules["remove"]]
    keep = [re.compile(r) for r in rules["keep"]]
    return bool(rules["compile"]), remove, keep


def removed_by(rel, remove, keep):
    """The glob that removes the path `rel` (relative to the prefix), or None when it stays.

    The regexes are JavaScript's (rules.ts): matched against the whole path, as JavaScript's
    anchored ^...$ does (Python's $ would also match before a final newline)."""
    hit = next((g for g, r in remove if r.fullmatch(rel)), None)
    if hit is None or any(k.fullmatch(rel) for k in keep):
        return None
    return hit


def prune(paths, prefix, remove, keep):
    """Removes the files among `paths` that the rules exclude; counts what stays.

    Returns (written, pruned): {"files", "bytes"} of the files left (a symlink counts 0 bytes), and
    {glob: (files, bytes)} of those removed. Folders and paths that do not exist are skipped."""
    pruned = {}
    written = {"files": 0, "bytes": 0}
    for path in paths:
        hit = removed_by(os.path.relpath(path, prefix), remove, keep)
        if hit is not None and os.path.isfile(path):
            n, b = pruned.get(hit, (0, 0))
            pruned[hit] = (n + 1, b + os.path.getsize(path))
            os.remove(path)
        elif os.path.lexists(path) and not os.path.isdir(path):
            written["files"] += 1
            written["bytes"] += os.lstat(path).st_size if os.path.isfile(path) and not os.path.islink(path) else 0
    return written, pruned


def step_report(written, pruned, distributions):
    """The step's report, as src/conda/prune/report.ts reads it."""
    report = {"kind": "pip", "name": "pip", "written": written, "pruned": {g: {"files": n, "bytes": b} for g, (n, b) in sorted(pruned.items())}}
    report["distributions"] = sorted(distributions, key=lambda d: (d["name"].lower(), d["version"]))
    return report


def pip_command(requirements, compile_pyc):
    args = [sys.executable, "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore", "-r", requirements]
    if not compile_pyc:
        args.insert(4, "--no-compile")
    return args


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: %s REQUIREMENTS RULES_JSON REPORT_JSON\n" % argv[0])
        return 2
    requirements, rules_file, report_file = argv[1:]
    compile_pyc, remove, keep = load_rules(rules_file)
    site = site_packages()
    before = dist_infos(site)
    if subprocess.run(pip_command(requirements, compile_pyc)).returncode:
        return 1
    installed = sorted(dist_infos(site) - before)
    paths = [p for d in installed for p in recorded(d)]
    distributions = [distribution(d) for d in installed]
    written, pruned = prune(paths, sys.prefix, remove, keep)
    with open(report_file, "w") as f:
        json.dump(step_report(written, pruned, distributions), f)
    if pruned:
        print("pruned from pip's files: " + ", ".join("%s %d KiB" % (g, b // 1024) for g, (n, b) in sorted(pruned.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
