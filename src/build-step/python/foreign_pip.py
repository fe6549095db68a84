# pip for a platform the build machine cannot run (src/stages/pip.ts and app.ts, "foreign").
# BuildKit runs it with the build machine's python of the target's version at the prefix (in the
# build machine's own image of the build, or in our image with that python mounted there), and
# the target's image at /target:
#
#   <prefix>/bin/python -S /in/foreign_pip.py /in/requirements.txt /in/prune.json /report/.pip.json
#   <prefix>/bin/python -S /in/foreign_pip.py --app /tmp/app /in/prune.json
#
# with PYTHONPATH=/target<prefix>/lib/pythonX.Y/site-packages, so pip (and setuptools for the app)
# are the target environment's own, and pip sees what the target has installed (-S: and not what
# the build machine's environment has). .pyc bytes and pure-python wheels do not depend on the
# machine, so nothing is emulated.
#
# pip picks a foreign platform's wheels only when told its tags (--platform, --python-version,
# --implementation, --abi, with --only-binary=:all:: nothing is built), and then installs only
# into a --target folder, where it sees nothing installed. So: resolve against the target's
# distributions (--dry-run --report), install exactly what that chose, without dependencies, into
# a scratch --target folder, and move the files into the target's prefix, RECORD rewritten. Then
# compile .pyc in place (as pip would have: the scratch folder's paths must not be the ones the
# code objects name), prune and report with pip_step.py's functions (same folder).
#
# The rules file is pip_step.py's, plus "foreign":
#   {"root": "/target", "prefix": "/opt/conda", "site": "lib/python3.11/site-packages",
#    "platforms": ["manylinux_2_36_aarch64", ..., "linux_aarch64"], "python_version": "3.11",
#    "implementation": "cp", "abi": "cp311"}
#
# Exit 0: installed; 1: pip failed (its message is in the step's log), or the app's wheel has
# compiled code. Standard library only. Tests: test/build-step/python/test_foreign_pip.py.
import compileall
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pip_step  # noqa: E402  (beside this file in the step's input)


NO_WHEEL = ("pip: for %s (python %s) only wheels can be installed: this build machine is another platform, and "
            "building a source distribution (sdist) would need that platform's python (emulation). A requirement pip found "
            "no wheel for above needs a wheel for this platform, or a build on a machine of that platform.\n")


def tag_options(foreign):
    """pip's options that make it choose the target's wheels, and only wheels."""
    args = ["--only-binary=:all:", "--python-version", foreign["python_version"], "--implementation", foreign["implementation"], "--abi", foreign["abi"]]
    for p in foreign["platforms"]:
        args += ["--platform", p]
    return args


def pip_install():
    return ["install", "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore"]


def run_pip(args):
    """pip with these arguments, in this process when its entry point can be imported (pip 19.3
    and later): a resolve and an install then cost one interpreter start and one import of pip,
    ~0.3 s less than two `python -m pip`. Returns pip's exit status."""
    try:
        from pip._internal.cli.main import main as pip_main
    except ImportError:
        return subprocess.run([sys.executable] + (["-S"] if sys.flags.no_site else []) + ["-m", "pip"] + args).returncode
    try:
        return pip_main(args)
    except SystemExit as e:  # pip's option parser exits (--version, a bad option); None is success
        return 0 if e.code is None else e.code if isinstance(e.code, int) else 1


def rewrite_record(dist_info, site, prefix):
    """Rewrites a scratch --target install's RECORD for the prefix. pip's home scheme puts scripts
    and data beside the packages, recorded as ../../X (X relative to the scratch folder); those go
    to <prefix>/X. Returns the top-level names that go to the prefix rather than site-packages."""
    record = os.path.join(dist_info, "RECORD")
    rows, outside = [], set()
    with open(record, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            path, rest = line.rstrip("\n").split(",", 1)
            if path.startswith("../../"):
                inner = path[len("../../"):]
                outside.add(inner.split("/", 1)[0])
                path = os.path.relpath(os.path.join(prefix, inner), site)
            rows.append(path + "," + rest)
    with open(record, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    return outside


def place(scratch, site, prefix):
    """Moves what `pip install --target scratch` wrote into the prefix. Returns the placed
    .dist-info folders (in site-packages)."""
    infos = sorted(e for e in os.listdir(scratch) if e.endswith(".dist-info"))
    outside = set()
    for entry in infos:
        outside |= rewrite_record(os.path.join(scratch, entry), site, prefix)
    for entry in sorted(os.listdir(scratch)):
        move_tree(os.path.join(scratch, entry), os.path.join(prefix if entry in outside else site, entry))
    return [os.path.join(site, e) for e in infos]


def move_tree(src, dst):
    """Moves src to dst, merging into folders that exist (the prefix's bin/) file by file."""
    if os.path.isdir(src) and not os.path.islink(src) and os.path.isdir(dst):
        for name in sorted(os.listdir(src)):
            move_tree(os.path.join(src, name), os.path.join(dst, name))
        os.rmdir(src)
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.move(src, dst)


def compile_in_place(dist_infos, root):
    """Compiles the distributions' .py files as pip does (compileall, its default invalidation
    mode), naming each source where the image has it (without `root`); adds the .pyc to RECORD."""
    for dist_info in dist_infos:
        base = os.path.dirname(dist_info)
        added = []
        for path in pip_step.recorded(dist_info):
            if not path.endswith(".py") or not os.path.isfile(path):
                continue
            if compileall.compile_file(path, ddir=os.path.dirname(path)[len(root):] or "/", force=True, quiet=1):
                pyc = importlib.util.cache_from_source(path)
                if os.path.isfile(pyc):
                    added.append(os.path.relpath(pyc, base) + ",,")
        if added:
            with open(os.path.join(dist_info, "RECORD"), "a", encoding="utf-8") as f:
                f.write("\n".join(added) + "\n")


INDEX_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--no-index", "--trusted-host", "--pre")


def index_options(requirements):
    """The lines of the requirements that say where packages come from (the pip: list may hold
    --find-links, --no-index...): the install of the chosen pins must look in the same places."""
    with open(requirements, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line.split("=", 1)[0].split(" ", 1)[0] in INDEX_OPTIONS]


def chosen_requirement(item):
    """What the resolution chose, as a requirement for the install: name==version from the same
    indexes (so pip records it as it would have), a URL only for what was asked for by URL."""
    if item.get("is_direct"):
        return item["download_info"]["url"]
    return "%s==%s" % (item["metadata"]["name"], item["metadata"]["version"])


def pip_version():
    """The version of the pip this python imports (the target environment's), as a tuple."""
    import pip

    return tuple(int(x) for x in re.findall(r"\d+", pip.__version__)[:2])


def normalized(name):
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def paths_of(foreign):
    prefix = foreign["root"] + foreign["prefix"]
    return prefix, os.path.join(prefix, foreign["site"])


def install_requirements(requirements, compile_pyc, foreign):
    """The requirements, for the target. Returns the placed .dist-info folders, None if pip failed."""
    prefix, site = paths_of(foreign)
    tags = tag_options(foreign)
    report = os.path.join(tempfile.mkdtemp(prefix="pip-report-"), "report.json")
    # pip before 23.1 takes the tags only with --target, even for --dry-run: it then sees nothing
    # installed, and what the target has is left out here by name.
    old_pip = pip_version() < (23, 1)
    resolve = ["--dry-run", "--quiet", "--report", report, "-r", requirements] + (["--target", os.path.join(os.path.dirname(report), "unused")] if old_pip else [])
    if run_pip(pip_install() + resolve + tags):
        sys.stderr.write(NO_WHEEL % (foreign["platforms"][-1], foreign["python_version"]))
        return None
    with open(report, encoding="utf-8") as f:
        items = json.load(f).get("install", [])
    have = {normalized(pip_step.distribution(d)["name"]) for d in pip_step.dist_infos([site])} if old_pip else set()
    chosen = [chosen_requirement(item) for item in items if normalized(item["metadata"]["name"]) not in have]
    if not chosen:
        return []
    scratch = os.path.join(tempfile.mkdtemp(prefix="pip-target-"), "target")
    pinned = os.path.join(os.path.dirname(report), "chosen.txt")
    with open(pinned, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in index_options(requirements) + chosen))
    if run_pip(pip_install() + ["--no-deps", "--no-compile", "--target", scratch, "-r", pinned] + tags):
        return None
    placed = place(scratch, site, prefix)
    if compile_pyc:
        compile_in_place(placed, foreign["root"])
    return placed


def install_app(app, compile_pyc, foreign):
    """image.app.install: pip. The build machine's python builds the app into a wheel; only a
    pure-python one (-none-any) is for any platform. Returns the exit status."""
    prefix, site = paths_of(foreign)
    wheels = tempfile.mkdtemp(prefix="app-wheel-")
    if run_pip(["wheel", "--no-deps", "--no-index", "--no-build-isolation", "--no-input", "--disable-pip-version-check", "-w", wheels, app]):
        return 1
    built = sorted(os.listdir(wheels))
    native = [w for w in built if not w.endswith("-none-any.whl")]
    if native:
        sys.stderr.write("image.app.install: pip: the app's wheel %s has compiled code for the build machine, not for %s; build that platform on a machine of its own\n" % (native[0], foreign["platforms"][-1]))
        return 1
    before = pip_step.dist_infos([site])
    # A pure wheel fits the build machine's python too: pip installs it under --root without tags.
    if run_pip(pip_install() + ["--no-deps", "--no-index", "--no-compile", "--root", foreign["root"]] + [os.path.join(wheels, w) for w in built]):
        return 1
    if compile_pyc:
        compile_in_place(sorted(pip_step.dist_infos([site]) - before), foreign["root"])
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--app":
        with open(argv[3], encoding="utf-8") as f:
            rules = json.load(f)
        return install_app(argv[2], bool(rules["compile"]), rules["foreign"])
    if len(argv) != 4:
        sys.stderr.write("usage: %s REQUIREMENTS RULES_JSON REPORT_JSON\n       %s --app APP_DIR RULES_JSON\n" % (argv[0], argv[0]))
        return 2
    requirements, rules_file, report_file = argv[1:]
    compile_pyc, remove, keep = pip_step.load_rules(rules_file)
    with open(rules_file, encoding="utf-8") as f:
        foreign = json.load(f)["foreign"]
    installed = install_requirements(requirements, compile_pyc, foreign)
    if installed is None:
        return 1
    paths = [p for d in installed for p in pip_step.recorded(d)]
    written, pruned = pip_step.prune(paths, paths_of(foreign)[0], remove, keep)
    with open(report_file, "w") as f:
        json.dump(pip_step.step_report(written, pruned, [pip_step.distribution(d) for d in installed]), f)
    if pruned:
        print("pruned from pip's files: " + ", ".join("%s %d KiB" % (g, b // 1024) for g, (n, b) in sorted(pruned.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
