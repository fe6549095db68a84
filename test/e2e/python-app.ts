// A pure-python app for `image.app.install: pip` in e2e tests: a pyproject.toml whose in-tree
// PEP 517 backend (buildtool/backend.py) builds a py3-none-any wheel of the package <name> with a
// console script <name> = <name>.main:run. In-tree, so the build needs no setuptools (the fixture's
// is Debian's, patched for Debian's own layout) and no index.

/** The app's files: pyproject.toml, buildtool/backend.py, <name>/__init__.py and <name>/main.py. */
export function pythonApp(name: string, mainPy: string): Record<string, string> {
  const pyproject = `[build-system]
requires = []
build-backend = "backend"
backend-path = ["buildtool"]

[project]
name = "${name}"
version = "1.0"
`;
  const backend = `import base64, hashlib, os, zipfile

NAME, VERSION = "${name}", "1.0"
DIST = NAME + "-" + VERSION + ".dist-info"
FILES = {
    DIST + "/METADATA": "Metadata-Version: 2.1\\nName: ${name}\\nVersion: 1.0\\n",
    DIST + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    DIST + "/entry_points.txt": "[console_scripts]\\n${name} = ${name}.main:run\\n",
}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = NAME + "-" + VERSION + "-py3-none-any.whl"
    files = dict(FILES)
    for f in sorted(os.listdir(NAME)):
        if f.endswith(".py"):
            files[NAME + "/" + f] = open(os.path.join(NAME, f)).read()
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for path, text in files.items():
            data = text.encode()
            z.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        z.writestr(DIST + "/RECORD", "\\n".join(record + [DIST + "/RECORD,,"]) + "\\n")
    return name
`;
  return { "pyproject.toml": pyproject, "buildtool/backend.py": backend, [`${name}/__init__.py`]: "", [`${name}/main.py`]: mainPy };
}
