# src/build-step/python/pip_step.py: its parts imported as a module, and the whole program run as
# the pip step runs it, by the python of a fresh venv whose `pip` is a stand-in that "installs" what
# a test describes. test/build-step/python/python.test.ts runs these with every CPython 3 it finds,
# and hands them the prune rules of src/conda/prune/rules.ts with TypeScript's decisions
# (CONDA_FRONTEND_PRUNE_CASES) to check the program decides the same. Standard library only, and
# nothing newer than 3.6 in this file.
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "src", "build-step", "python", "pip_step.py")

_spec = importlib.util.spec_from_file_location("pip_step", SCRIPT)
pip_step = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pip_step)

# rules.ts's globToRegExp("*.a"), ("include/**"), ("lib/python*/site-packages/**/*.c") and the
# protected "conda-meta/**", as the frontend writes them into prune.json (JavaScript's source).
A = r"^(?:.*\/)?[^\/]*\.a(?:\/.*)?$"
INCLUDE = r"^include\/.*(?:\/.*)?$"
SITE_C = r"^lib\/python[^\/]*\/site-packages\/(?:.*\/)?[^\/]*\.c(?:\/.*)?$"
CONDA_META = r"^conda-meta\/.*(?:\/.*)?$"


def rules(remove, keep=(), compile_pyc=True):
    return {"compile": compile_pyc, "remove": [list(r) for r in remove], "keep": list(keep)}


def compiled(rs):
    return [(g, re.compile(r)) for g, r in rs["remove"]], [re.compile(r) for r in rs["keep"]]


# The stand-in for pip: `python -m pip ...` in the venv. It records its arguments and, unless told
# to fail, writes the distributions FAKE_PIP describes into site-packages, each with a RECORD.
FAKE_PIP = r'''
import json, os, sys
scenario = json.load(open(os.environ["FAKE_PIP"]))
with open(scenario["argv"], "w") as f:
    json.dump(sys.argv[1:], f)
if scenario.get("exit"):
    sys.stderr.write("ERROR: No matching distribution found for nothing-such\n")
    sys.exit(scenario["exit"])
site = [p for p in sys.path if p.endswith("site-packages")][0]
for dist, files in scenario["dists"].items():
    info = os.path.join(site, dist + ".dist-info")
    os.makedirs(info)
    lines = []
    for rel, content in files.items():
        path = os.path.normpath(os.path.join(site, rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if content.startswith("->"):
            os.symlink(content[2:], path)
        else:
            with open(path, "w") as f:
                f.write(content)
        lines.append("%s,sha256=x,%d" % (rel, len(content)))
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Name: %s\nVersion: %s\n\nDescription: Version: not a header\n" % tuple(dist.split("-", 1)))
    lines += [dist + ".dist-info/METADATA,,", dist + ".dist-info/RECORD,,"]
    with open(os.path.join(info, "RECORD"), "w") as f:
        f.write("\n".join(lines) + "\n")
'''


class Env:
    """A venv (the environment: sys.prefix, its site-packages) with the stand-in pip, and the step's
    /in and /report folders."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pip-step-")
        self.prefix = os.path.join(self.dir, "env")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", self.prefix], check=True)
        self.python = os.path.join(self.prefix, "bin", "python")
        self.site = subprocess.run([self.python, "-c", "import sys; print([p for p in sys.path if p.endswith('site-packages')][0])"], check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        os.makedirs(os.path.join(self.site, "pip"))
        open(os.path.join(self.site, "pip", "__init__.py"), "w").close()
        with open(os.path.join(self.site, "pip", "__main__.py"), "w") as f:
            f.write(FAKE_PIP)
        self.inputs = os.path.join(self.dir, "in")
        self.report_dir = os.path.join(self.dir, "report")
        os.makedirs(self.inputs)
        os.makedirs(self.report_dir)

    def close(self):
        shutil.rmtree(self.dir)

    def run(self, prune_rules, dists=None, exit=0):
        """Runs the program as the step does; returns (status, stdout, pip's arguments)."""
        with open(os.path.join(self.inputs, "requirements.txt"), "w") as f:
            f.write("--no-index\ngreetwheel==1.0\n")
        with open(os.path.join(self.inputs, "prune.json"), "w") as f:
            json.dump(prune_rules, f)
        scenario = os.path.join(self.dir, "scenario.json")
        argv = os.path.join(self.dir, "argv.json")
        with open(scenario, "w") as f:
            json.dump({"argv": argv, "exit": exit, "dists": dists or {}}, f)
        env = dict(os.environ, FAKE_PIP=scenario)
        r = subprocess.run([self.python, SCRIPT, os.path.join(self.inputs, "requirements.txt"), os.path.join(self.inputs, "prune.json"), self.report_path], env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        with open(argv) as f:
            return r.returncode, r.stdout, json.load(f)

    @property
    def report_path(self):
        return os.path.join(self.report_dir, ".pip.json")

    def report(self):
        with open(self.report_path) as f:
            return json.load(f)

    def exists(self, rel):
        return os.path.lexists(os.path.join(self.prefix, rel))


class PipStepTest(unittest.TestCase):
    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.close)
        self.sp = os.path.relpath(self.env.site, self.env.prefix)  # lib/pythonX.Y/site-packages

    def test_runs_pip_on_the_requirements_then_prunes_what_it_installed_and_reports(self):
        e, sp = self.env, self.sp
        status, out, argv = e.run(
            rules([("*.a", A), ("include/**", INCLUDE), ("lib/python*/site-packages/**/*.c", SITE_C)]),
            {
                "greet-1.0": {"greet/__init__.py": "x = 1\n", "greet/_impl.c": "c" * 3000, "greet/libgreet.a": "a" * 2048, "../../../include/greet.h": "h" * 10, "../../../bin/greet": "#!python\n"},
                "other-2.0": {"other/__init__.py": "", "other/libother.a": "a" * 100},
            },
        )
        self.assertEqual(status, 0)
        self.assertEqual(argv, ["install", "--no-input", "--disable-pip-version-check", "--no-warn-script-location", "--root-user-action=ignore", "-r", os.path.join(e.inputs, "requirements.txt")])
        for gone in ("greet/_impl.c", "greet/libgreet.a", "other/libother.a"):
            self.assertFalse(e.exists(sp + "/" + gone), gone)
        self.assertFalse(e.exists("include/greet.h"))
        for kept in (sp + "/greet/__init__.py", sp + "/other/__init__.py", "bin/greet", sp + "/greet-1.0.dist-info/RECORD"):
            self.assertTrue(e.exists(kept), kept)
        # Written: 2 __init__.py (6 + 0 bytes), bin/greet (9), and each dist-info's METADATA and RECORD.
        meta = sum(os.path.getsize(os.path.join(e.site, d + ".dist-info", f)) for d in ("greet-1.0", "other-2.0") for f in ("METADATA", "RECORD"))
        self.assertEqual(e.report(), {
            "kind": "pip",
            "name": "pip",
            "written": {"files": 7, "bytes": 6 + 9 + meta},
            "pruned": {"*.a": {"files": 2, "bytes": 2148}, "include/**": {"files": 1, "bytes": 10}, "lib/python*/site-packages/**/*.c": {"files": 1, "bytes": 3000}},
            "distributions": [{"name": "greet", "version": "1.0"}, {"name": "other", "version": "2.0"}],
        })
        self.assertEqual(out, "pruned from pip's files: *.a 2 KiB, include/** 0 KiB, lib/python*/site-packages/**/*.c 2 KiB\n")

    def test_keep_rules_win_over_remove_rules(self):
        e, sp = self.env, self.sp
        keep = r"^(?:.*\/)?libkeep\.a(?:\/.*)?$"
        status, out, _ = e.run(rules([("*.a", A)], keep=[keep, CONDA_META]), {"k-1": {"k/libkeep.a": "a", "k/libdrop.a": "b"}})
        self.assertEqual(status, 0)
        self.assertTrue(e.exists(sp + "/k/libkeep.a"))
        self.assertFalse(e.exists(sp + "/k/libdrop.a"))
        self.assertEqual(e.report()["pruned"], {"*.a": {"files": 1, "bytes": 1}})

    def test_leaves_alone_what_pip_did_not_install_this_time(self):
        e, sp = self.env, self.sp
        # A distribution already in the environment (a conda package's), with a file a rule matches.
        os.makedirs(os.path.join(e.site, "conda_pkg-1.0.dist-info"))
        os.makedirs(os.path.join(e.site, "conda_pkg"))
        with open(os.path.join(e.site, "conda_pkg", "libc.a"), "w") as f:
            f.write("keep me")
        with open(os.path.join(e.site, "conda_pkg-1.0.dist-info", "RECORD"), "w") as f:
            f.write("conda_pkg/libc.a,,\n")
        with open(os.path.join(e.prefix, "libloose.a"), "w") as f:
            f.write("not pip's")
        status, _, _ = e.run(rules([("*.a", A)]), {"new-1": {"new/libnew.a": "n"}})
        self.assertEqual(status, 0)
        self.assertTrue(e.exists(sp + "/conda_pkg/libc.a"))
        self.assertTrue(e.exists("libloose.a"))
        self.assertFalse(e.exists(sp + "/new/libnew.a"))
        self.assertEqual(e.report()["pruned"], {"*.a": {"files": 1, "bytes": 1}})

    def test_nothing_installed_writes_an_empty_report_and_prints_nothing(self):
        status, out, _ = self.env.run(rules([("*.a", A)]))
        self.assertEqual(status, 0)
        self.assertEqual(out, "")
        self.assertEqual(self.env.report(), {"kind": "pip", "name": "pip", "written": {"files": 0, "bytes": 0}, "pruned": {}, "distributions": []})

    def test_tells_pip_not_to_compile_when_the_rules_say_so(self):
        _, _, argv = self.env.run(rules([], compile_pyc=False))
        self.assertEqual(argv[:2], ["install", "--no-compile"])
        _, _, argv = self.env.run(rules([], compile_pyc=True))
        self.assertNotIn("--no-compile", argv)

    def test_counts_a_symlink_pip_wrote_as_a_file_of_no_bytes(self):
        e, sp = self.env, self.sp
        status, _, _ = e.run(rules([]), {"l-1": {"l/real.py": "12345", "l/link.py": "->real.py"}})
        self.assertEqual(status, 0)
        self.assertTrue(os.path.islink(os.path.join(e.site, "l", "link.py")))
        meta = sum(os.path.getsize(os.path.join(e.site, "l-1.dist-info", f)) for f in ("METADATA", "RECORD"))
        self.assertEqual(e.report()["written"], {"files": 4, "bytes": 5 + meta})

    def test_a_failing_pip_fails_the_step_with_no_report_and_nothing_pruned(self):
        status, _, _ = self.env.run(rules([("*.a", A)]), exit=1)
        self.assertEqual(status, 1)
        self.assertFalse(os.path.exists(self.env.report_path))

    def test_pip_failing_in_any_way_fails_the_step(self):
        status, _, _ = self.env.run(rules([]), exit=2)
        self.assertEqual(status, 1)
        self.assertFalse(os.path.exists(self.env.report_path))

    def test_wrong_arguments_are_a_usage_error(self):
        r = subprocess.run([self.env.python, SCRIPT, "/in/requirements.txt"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage", r.stderr)

    def test_unreadable_rules_fail_before_pip_runs(self):
        e = self.env
        with open(os.path.join(e.inputs, "prune.json"), "w") as f:
            f.write("{not json")
        argv = os.path.join(e.dir, "argv.json")
        r = subprocess.run([e.python, SCRIPT, os.path.join(e.inputs, "requirements.txt"), os.path.join(e.inputs, "prune.json"), e.report_path], env=dict(os.environ, FAKE_PIP="/nonexistent"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(argv))
        self.assertFalse(os.path.exists(e.report_path))


class PartsTest(unittest.TestCase):
    def test_removed_by_names_the_first_rule_unless_a_keep_rule_matches(self):
        remove, keep = compiled(rules([("*.a", A), ("include/**", INCLUDE)], keep=[CONDA_META]))
        self.assertEqual(pip_step.removed_by("lib/libx.a", remove, keep), "*.a")
        self.assertEqual(pip_step.removed_by("include/x.a", remove, keep), "*.a")
        self.assertEqual(pip_step.removed_by("include/x.h", remove, keep), "include/**")
        self.assertIsNone(pip_step.removed_by("conda-meta/x.a", remove, keep))
        self.assertIsNone(pip_step.removed_by("lib/libx.so", remove, keep))
        self.assertIsNone(pip_step.removed_by("lib/x.a.so", remove, keep))

    def test_removed_by_matches_the_whole_path_as_javascript_does(self):
        remove, keep = compiled(rules([("*.a", A)]))
        # Python's $ also matches before a final newline; JavaScript's (and so rules.ts's) does not.
        self.assertIsNone(pip_step.removed_by("lib/x.a\n", remove, keep))
        self.assertIsNone(pip_step.removed_by("lib/x.a\nb", remove, keep))

    def test_recorded_reads_paths_relative_to_site_packages_with_commas_and_without_a_record(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        info = os.path.join(d, "site-packages", "x-1.dist-info")
        os.makedirs(info)
        self.assertEqual(pip_step.recorded(info), [])
        with open(os.path.join(info, "RECORD"), "w", encoding="utf-8") as f:
            f.write("x/a,b.py,sha256=abc,12\n../../../bin/x,sha256=def,3\nx/\u00e9.py,,\n\n")
        sp = os.path.join(d, "site-packages")
        self.assertEqual(pip_step.recorded(info), [os.path.join(sp, "x", "a,b.py"), os.path.normpath(os.path.join(sp, "../../../bin/x")), os.path.join(sp, "x", "\u00e9.py")])

    def test_pip_command_runs_this_python_s_pip(self):
        self.assertEqual(pip_step.pip_command("/in/r.txt", True)[:4], [sys.executable, "-m", "pip", "install"])
        self.assertEqual(pip_step.pip_command("/in/r.txt", False)[4], "--no-compile")
        self.assertEqual(pip_step.pip_command("/in/r.txt", False)[-2:], ["-r", "/in/r.txt"])


class RulesAgreeWithTypeScriptTest(unittest.TestCase):
    """CONDA_FRONTEND_PRUNE_CASES names a JSON file: {"rules": <prune.json as pip.ts writes it>,
    "cases": [[path, glob or null], ...]} with rules.ts's own decision for each path."""

    @unittest.skipUnless(os.environ.get("CONDA_FRONTEND_PRUNE_CASES"), "run by python.test.ts, which makes the cases")
    def test_decides_as_rules_ts_does(self):
        with open(os.environ["CONDA_FRONTEND_PRUNE_CASES"], encoding="utf-8") as f:
            data = json.load(f)
        remove, keep = compiled(data["rules"])
        self.assertGreater(len(data["cases"]), 10)
        for path, expected in data["cases"]:
            self.assertEqual(pip_step.removed_by(path, remove, keep), expected, path)


if __name__ == "__main__":
    unittest.main()
