# src/build-step/python/compile_pyc.py, run as the installer runs it (python -E -s -c <text> <list>
# <root>) by the python running these tests; test/build-step/python/python.test.ts runs them with
# every CPython 3 it finds. Standard library only, and nothing newer than 3.6 in this file.
import importlib.util
import marshal
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "src", "build-step", "python", "compile_pyc.py")
PREFIX = "opt/conda"
HAS_HASH_PYC = sys.version_info >= (3, 7)


def script_text():
    with open(SCRIPT, encoding="utf-8") as f:
        return f.read()


class Step:
    """A step's output folder: <root>/opt/conda/lib/pythonX.Y/site-packages, as the installer has it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="compile-pyc-")
        self.site = "lib/python%d.%d/site-packages" % sys.version_info[:2]

    def close(self):
        shutil.rmtree(self.root)

    def path(self, rel):
        return os.path.join(self.root, PREFIX, rel)

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def compile(self, rels, env=None, prelude=None):
        """Runs the program on the listed files (relative to the prefix); returns its exit status."""
        listing = os.path.join(self.root, ".pyc-sources-0")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("".join(self.path(r) + "\n" for r in rels))
        text = script_text() if prelude is None else prelude + "\n" + script_text()
        r = subprocess.run([sys.executable, "-E", "-s", "-c", text, listing, self.root], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.remove(listing)
        return r.returncode

    def pyc(self, rel):
        """Where the installer (install.ts, pycOf) expects the .pyc of `rel`."""
        d, name = os.path.split(rel)
        return self.path(os.path.join(d, "__pycache__", "%s.cpython-%d%d.pyc" % ((name[:-3],) + sys.version_info[:2])))


def codes(code):
    """A code object and those nested in it (functions, classes, comprehensions)."""
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            for n in codes(c):
                yield n


class CompilePycTest(unittest.TestCase):
    def assertSamePyc(self, a, b, msg=None):
        """Same header and same code objects. Not byte for byte: marshal flags an object it may meet
        again (FLAG_REF) by its reference count at the time, which differs between two programs
        compiling the same source (bpo-34093); each program is deterministic on its own."""
        self.assertEqual(a[:16], b[:16], msg)
        ca, cb = marshal.loads(a[16:]), marshal.loads(b[16:])
        self.assertEqual(ca, cb, msg)
        self.assertEqual([(c.co_name, c.co_filename, c.co_firstlineno) for c in codes(ca)], [(c.co_name, c.co_filename, c.co_firstlineno) for c in codes(cb)], msg)

    def setUp(self):
        self.step = Step()
        self.addCleanup(self.step.close)

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_compiles_each_listed_file_where_python_and_the_installer_look_for_it(self):
        s = self.step
        rels = [s.site + "/pkg/__init__.py", s.site + "/pkg/mod.py", s.site + "/pkg/sub/deep.py", "lib/python%d.%d/top.py" % sys.version_info[:2]]
        for r in rels:
            s.write(r, "X = %r\n" % r)
        s.write(s.site + "/pkg/unlisted.py", "X = 1\n")
        self.assertEqual(s.compile(rels), 0)
        self.assertEqual(sys.implementation.cache_tag, "cpython-%d%d" % sys.version_info[:2])
        for r in rels:
            self.assertTrue(os.path.isfile(s.pyc(r)), r)
            self.assertEqual(s.pyc(r), importlib.util.cache_from_source(s.path(r)))
        self.assertFalse(os.path.exists(s.pyc(s.site + "/pkg/unlisted.py")))
        self.assertEqual(sorted(os.listdir(os.path.dirname(s.pyc(rels[1])))), sorted(os.path.basename(s.pyc(r)) for r in rels[:2]))

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_writes_unchecked_hash_pyc_whose_code_names_the_source_at_the_prefix(self):
        s = self.step
        rel = s.site + "/pkg/mod.py"
        src = s.write(rel, "def f():\n    assert False, 'kept'\n    return 1\n")
        self.assertEqual(s.compile([rel]), 0)
        with open(s.pyc(rel), "rb") as f:
            data = f.read()
        with open(src, "rb") as f:
            source = f.read()
        self.assertEqual(data[:4], importlib.util.MAGIC_NUMBER)
        self.assertEqual(int.from_bytes(data[4:8], "little"), 0b01)  # hash-based, check_source off
        self.assertEqual(data[8:16], importlib.util.source_hash(source))
        code = marshal.loads(data[16:])
        self.assertEqual(code.co_filename, "/" + PREFIX + "/" + rel)
        ns = {}
        exec(code, ns)
        # Not optimised (no -O: the installer expects plain .cpython-XY.pyc names): asserts stay.
        with self.assertRaises(AssertionError):
            ns["f"]()

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_same_pyc_as_py_compile_in_unchecked_hash_mode(self):
        s = self.step
        rel = s.site + "/pkg/mod.py"
        src = s.write(rel, "'''doc'''\nimport os\nclass C:\n    def m(self):\n        return [i * 2 for i in range(3)]\n")
        self.assertEqual(s.compile([rel]), 0)
        ref = os.path.join(s.root, "ref.pyc")
        py_compile.compile(src, cfile=ref, dfile="/" + PREFIX + "/" + rel, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        with open(ref, "rb") as a, open(s.pyc(rel), "rb") as b:
            self.assertSamePyc(a.read(), b.read())

    @unittest.skipUnless(sys.version_info >= (3, 9), "compileall's -s and -p came with 3.9")
    def test_same_files_as_the_installers_compileall_fallback(self):
        s = self.step
        rels = [s.site + "/pkg/__init__.py", s.site + "/pkg/mod.py", s.site + "/pkg/bad.py"]
        s.write(rels[0], "")
        s.write(rels[1], "import sys\nV = sys.version\n")
        s.write(rels[2], "def (:\n")
        self.assertEqual(s.compile(rels), 1)
        ours = {}
        for r in rels[:2]:
            with open(s.pyc(r), "rb") as f:
                ours[r] = f.read()
        self.assertFalse(os.path.exists(s.pyc(rels[2])))
        shutil.rmtree(os.path.dirname(s.pyc(rels[0])))
        # What install.ts runs when the program exits 3.
        listing = os.path.join(s.root, ".pyc-sources-0")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("".join(s.path(r) + "\n" for r in rels))
        r = subprocess.run([sys.executable, "-E", "-s", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", "-s", s.root, "-p", "/", "-i", listing], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1)
        for rel, data in ours.items():
            with open(s.pyc(rel), "rb") as f:
                self.assertSamePyc(f.read(), data, rel)
        self.assertFalse(os.path.exists(s.pyc(rels[2])))

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_same_source_same_bytes_whatever_the_file_times_and_source_date_epoch(self):
        s = self.step
        rel = s.site + "/m.py"
        src = s.write(rel, "X = 1\n")
        outputs = []
        for mtime, epoch in [(1000000000, None), (1700000000, "0"), (5, "1700000000")]:
            os.utime(src, (mtime, mtime))
            env = dict(os.environ)
            env.pop("SOURCE_DATE_EPOCH", None)
            if epoch is not None:
                env["SOURCE_DATE_EPOCH"] = epoch
            if os.path.exists(s.pyc(rel)):
                os.remove(s.pyc(rel))
            self.assertEqual(s.compile([rel], env=env), 0)
            with open(s.pyc(rel), "rb") as f:
                outputs.append(f.read())
        self.assertEqual(len(set(outputs)), 1)

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_ignores_pythonoptimize_and_pythondontwritebytecode_as_run_with_dash_e(self):
        s = self.step
        rel = s.site + "/m.py"
        s.write(rel, "def f():\n    assert False\n")
        env = dict(os.environ, PYTHONOPTIMIZE="2", PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=os.path.join(s.root, "elsewhere"))
        self.assertEqual(s.compile([rel], env=env), 0)
        self.assertTrue(os.path.isfile(s.pyc(rel)))
        self.assertEqual(os.listdir(os.path.dirname(s.pyc(rel))), [os.path.basename(s.pyc(rel))])
        self.assertFalse(os.path.exists(os.path.join(s.root, "elsewhere")))

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_pyc_mode_follows_the_source_with_owner_write(self):
        s = self.step
        a, b = s.site + "/a.py", s.site + "/b.py"
        s.write(a, "A = 1\n", mode=0o644)
        s.write(b, "B = 1\n", mode=0o444)
        self.assertEqual(s.compile([a, b]), 0)
        self.assertEqual(os.stat(s.pyc(a)).st_mode & 0o777, 0o644)
        self.assertEqual(os.stat(s.pyc(b)).st_mode & 0o777, 0o644)

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_skips_what_does_not_compile_and_exits_1_after_compiling_the_rest(self):
        s = self.step
        good, py2, bad, missing, last = (s.site + "/pkg/%s.py" % n for n in ("good", "py2", "bad", "missing", "last"))
        s.write(good, "G = 1\n")
        s.write(py2, "print 'python 2'\n")
        s.write(bad, "x = (\n")
        s.write(last, "L = 1\n")
        with open(s.path(s.site + "/pkg/nul.py"), "wb") as f:
            f.write(b"x = 1\x00\n")
        self.assertEqual(s.compile([good, py2, bad, missing, s.site + "/pkg/nul.py", last]), 1)
        self.assertTrue(os.path.isfile(s.pyc(good)))
        self.assertTrue(os.path.isfile(s.pyc(last)))
        for r in (py2, bad, missing, s.site + "/pkg/nul.py"):
            self.assertFalse(os.path.exists(s.pyc(r)), r)

    @unittest.skipUnless(HAS_HASH_PYC, "hash-based .pyc came with 3.7")
    def test_names_with_spaces_and_non_ascii_characters(self):
        s = self.step
        rel = s.site + "/p k g/m\u00f6dule \u65e5\u672c.py"
        s.write(rel, "# -*- coding: utf-8 -*-\nS = '\u00e9'\n")
        self.assertEqual(s.compile([rel]), 0)
        with open(s.pyc(rel), "rb") as f:
            self.assertEqual(marshal.loads(f.read()[16:]).co_filename, "/" + PREFIX + "/" + rel)

    def test_an_empty_list_compiles_nothing(self):
        self.assertEqual(self.step.compile([]), 0 if HAS_HASH_PYC else 3)
        self.assertEqual(os.listdir(self.step.root), [])

    def test_exits_3_when_python_lacks_the_importlib_internals_so_the_installer_runs_compileall(self):
        s = self.step
        rel = s.site + "/m.py"
        s.write(rel, "X = 1\n")
        prelude = "import _frozen_importlib_external as _b\nif hasattr(_b, '_code_to_hash_pyc'): del _b._code_to_hash_pyc"
        self.assertEqual(s.compile([rel], prelude=prelude), 3)
        self.assertFalse(os.path.exists(os.path.dirname(s.pyc(rel))))

    @unittest.skipIf(HAS_HASH_PYC, "only before 3.7")
    def test_exits_3_before_3_7(self):
        s = self.step
        rel = s.site + "/m.py"
        s.write(rel, "X = 1\n")
        self.assertEqual(s.compile([rel]), 3)


if __name__ == "__main__":
    unittest.main()
