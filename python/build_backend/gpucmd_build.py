"""The PEP 517 build backend of the gpucmd package, in the tree
(pyproject.toml: backend-path), so that `pip install ./python` needs
nothing from a package index: pip's isolated build would otherwise fetch
setuptools, and gpucmd's machines reach no Python index. The package is
pure Python, so its wheel is a zip of gpucmd/ and the .dist-info files the
wheel format asks for (PEP 427): METADATA, WHEEL and RECORD, with the
name, version and dependencies of pyproject.toml's [project] table.
"""
import base64
import hashlib
import os
import tarfile
import tomllib  # Python 3.11: building needs it, the package itself does not
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(HERE, "pyproject.toml"), "rb") as _f:
    PROJECT = tomllib.load(_f)["project"]
NAME, VERSION = PROJECT["name"], PROJECT["version"]
DIST = f"{NAME}-{VERSION}"
INFO = f"{DIST}.dist-info"


def _metadata() -> str:
    with open(os.path.join(HERE, PROJECT["readme"]), encoding="utf-8") as f:
        readme = f.read()
    deps = "".join(f"Requires-Dist: {d}\n" for d in PROJECT.get("dependencies", []))
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\nSummary: {PROJECT['description']}\n"
            f"Requires-Python: {PROJECT['requires-python']}\n{deps}Description-Content-Type: text/markdown\n\n"
            + readme)


def _package_files():
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name == "py.typed":
            yield os.path.join(pkg, name), f"{NAME}/{name}"


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """gpucmd-VERSION-py3-none-any.whl in wheel_directory."""
    filename = f"{DIST}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        def add(arcname: str, data: bytes) -> None:
            whl.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        for path, arcname in _package_files():
            with open(path, "rb") as f:
                add(arcname, f.read())
        add(f"{INFO}/METADATA", _metadata().encode())
        add(f"{INFO}/WHEEL", b"Wheel-Version: 1.0\nGenerator: gpucmd_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        record.append(f"{INFO}/RECORD,,")
        whl.writestr(f"{INFO}/RECORD", "\n".join(record) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    """gpucmd-VERSION.tar.gz: the package, the backend, pyproject.toml,
    README.md and PKG-INFO."""
    filename = f"{DIST}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ("pyproject.toml", "README.md", "build_backend/gpucmd_build.py"):
            tar.add(os.path.join(HERE, rel), f"{DIST}/{rel}")
        for path, arcname in _package_files():
            tar.add(path, f"{DIST}/{arcname}")
        info = os.path.join(sdist_directory, "PKG-INFO")
        with open(info, "w", encoding="utf-8") as f:
            f.write(_metadata())
        tar.add(info, f"{DIST}/PKG-INFO")
        os.unlink(info)
    return filename
