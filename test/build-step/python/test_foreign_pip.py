# src/build-step/python/foreign_pip.py: its parts imported as a module. Moving a scratch
# `pip install --target` folder into a prefix (RECORD rewritten), compiling in place with the
# image's paths, pip's tag options, and the app's wheel check. The real pip runs in the e2e test
# (test/e2e/multi-platform.test.ts). Standard library only.
import contextlib
import importlib.util
import io
import json
import marshal
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "src", "build-step", "python", "foreign_pip.py")

_spec = importlib.util.spec_from_file_location("foreign_pip", SCRIPT)
foreign_pip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(foreign_pip)

FOREIGN = {"root": "/target", "prefix": "/opt/conda", "site": "lib/python3.11/site-packages", "platforms": ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"], "python_version": "3.11", "implementation": "cp", "abi": "cp311"}


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def scratch_install(scratch):
    """What `pip install --target scratch` leaves for a wheel with a module, a script and a data file."""
    write(os.path.join(scratch, "hello", "__init__.py"), "GREETING = 'hi'\n")
    write(os.path.join(scratch, "bin", "hello"), "#!/opt/conda/bin/python\nimport hello\n", 0o755)
    write(os.path.join(scratch, "share", "hello", "data.txt"), "data\n")
    info = os.path.join(scratch, "hello-1.0.dist-info")
    write(os.path.join(info, "METADATA"), "Name: hello\nVersion: 1.0\n\n")
    write(os.path.join(info, "RECORD"), "hello/__init__.py,sha256=x,16\n../../bin/hello,sha256=y,40\n../../share/hello/data.txt,sha256=z,5\nhello-1.0.dist-info/METADATA,,\nhello-1.0.dist-info/RECORD,,\n")


class PlaceTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.prefix = os.path.join(self.tmp, "target", "opt", "conda")
        self.site = os.path.join(self.prefix, "lib", "python3.11", "site-packages")
        os.makedirs(self.site)
        write(os.path.join(self.prefix, "bin", "python3.11"), "conda's python\n", 0o755)
        self.scratch = os.path.join(self.tmp, "scratch")
        scratch_install(self.scratch)

    def test_moves_packages_to_site_packages_and_scripts_and_data_to_the_prefix(self):
        placed = foreign_pip.place(self.scratch, self.site, self.prefix)
        self.assertEqual(placed, [os.path.join(self.site, "hello-1.0.dist-info")])
        self.assertTrue(os.path.isfile(os.path.join(self.site, "hello", "__init__.py")))
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "bin", "hello")))
        self.assertEqual(os.stat(os.path.join(self.prefix, "bin", "hello")).st_mode & 0o777, 0o755)
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "share", "hello", "data.txt")))
        # The prefix's bin/ was merged into, not replaced.
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "bin", "python3.11")))
        self.assertFalse(os.path.exists(os.path.join(self.site, "bin")))
        self.assertEqual(os.listdir(self.scratch), [])

    def test_rewrites_record_so_every_row_names_the_file_where_it_now_is(self):
        placed = foreign_pip.place(self.scratch, self.site, self.prefix)
        rows = [line.split(",")[0] for line in read_lines(os.path.join(placed[0], "RECORD"))]
        self.assertIn("../../../bin/hello", rows)
        self.assertIn("../../../share/hello/data.txt", rows)
        for row in rows:
            self.assertTrue(os.path.exists(os.path.normpath(os.path.join(self.site, row))), row)

    def test_compiles_in_place_naming_the_source_where_the_image_has_it(self):
        placed = foreign_pip.place(self.scratch, self.site, self.prefix)
        root = os.path.join(self.tmp, "target")
        foreign_pip.compile_in_place(placed, root)
        pyc = importlib.util.cache_from_source(os.path.join(self.site, "hello", "__init__.py"))
        self.assertTrue(os.path.isfile(pyc))
        with open(pyc, "rb") as f:
            code = marshal.loads(f.read()[16 if sys.version_info >= (3, 7) else 12:])  # the header grew in 3.7 (PEP 552)
        self.assertEqual(code.co_filename, "/opt/conda/lib/python3.11/site-packages/hello/__init__.py")
        rows = read_lines(os.path.join(placed[0], "RECORD"))
        self.assertIn(os.path.relpath(pyc, self.site) + ",,", rows)


class OptionsTest(unittest.TestCase):
    def test_tells_pip_the_targets_tags_and_to_take_wheels_only(self):
        args = foreign_pip.tag_options(FOREIGN)
        self.assertEqual(args[:7], ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"])
        self.assertEqual([args[i + 1] for i, a in enumerate(args) if a == "--platform"], FOREIGN["platforms"])


class ChosenTest(unittest.TestCase):
    def test_pins_what_the_resolution_chose_by_name_and_version_and_keeps_urls_asked_for(self):
        item = {"metadata": {"name": "greetwheel", "version": "1.0"}, "download_info": {"url": "http://x/greetwheel-1.0-py3-none-any.whl"}, "is_direct": False}
        self.assertEqual(foreign_pip.chosen_requirement(item), "greetwheel==1.0")
        item["is_direct"] = True
        self.assertEqual(foreign_pip.chosen_requirement(item), "http://x/greetwheel-1.0-py3-none-any.whl")

    def test_keeps_the_requirements_lines_that_say_where_packages_come_from(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        req = os.path.join(tmp, "requirements.txt")
        write(req, "--no-index\n--find-links http://x/wheels/index.html\n-i https://pypi.example/simple\n--extra-index-url=https://y/simple\ngreetwheel==1.0\nnumpy>=2\n")
        self.assertEqual(foreign_pip.index_options(req), ["--no-index", "--find-links http://x/wheels/index.html", "-i https://pypi.example/simple", "--extra-index-url=https://y/simple"])

    def test_normalizes_names_as_pep_503_does(self):
        self.assertEqual(foreign_pip.normalized("Zope.Interface__x"), "zope-interface-x")


class RunPipTest(unittest.TestCase):
    def test_returns_pips_exit_status_and_leaves_this_process_running(self):
        if importlib.util.find_spec("pip") is None:
            self.skipTest("this python has no pip")
        self.assertEqual(foreign_pip.run_pip(["--version"]), 0)
        # A bad option makes pip's parser exit: run in this process, that must become a status.
        self.assertEqual(foreign_pip.run_pip(["install", "--no-such-option"]), 2)


class AppTest(unittest.TestCase):
    def test_refuses_an_app_whose_wheel_has_compiled_code_and_installs_nothing(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        calls = []

        def fake_pip(args):
            # `pip wheel` "builds" a wheel for the build machine; nothing else may run.
            calls.append(args[0])
            if args[0] == "wheel":
                open(os.path.join(args[args.index("-w") + 1], "app-1.0-cp311-cp311-linux_x86_64.whl"), "w").close()
            return 0

        real = foreign_pip.run_pip
        foreign_pip.run_pip = fake_pip
        self.addCleanup(setattr, foreign_pip, "run_pip", real)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = foreign_pip.install_app(tmp, True, FOREIGN)
        self.assertEqual(status, 1)
        self.assertIn("has compiled code for the build machine, not for linux_aarch64", err.getvalue())
        self.assertEqual(calls, ["wheel"])


if __name__ == "__main__":
    unittest.main()
