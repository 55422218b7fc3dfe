"""The acceptance path: a staged `make install`, a fresh virtual
environment, `pip install ./python`, then a kernel on NumPy data from a
plain `python -c`, finding libgpucmd the way a C program would (the
dynamic linker's search, here LD_LIBRARY_PATH into the staged tree). pip
reaches no package index here: the in-tree build backend needs none."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import BUILD, ROOT

PROGRAM = """
import numpy as np, gpucmd
assert gpucmd.__file__.startswith(%r), gpucmd.__file__
with gpucmd.connect() as gpu:
    x = gpu.buffer(np.arange(4096, dtype=np.float32))
    y = gpu.empty(4096, np.float32)
    with gpu.session("acceptance") as s:
        s.dispatch("scale_f32", [x, y], push=(4096, 0.25), threads=4096)
        s.commit_and_wait()
    assert np.array_equal(y.read(), np.arange(4096, dtype=np.float32) * 0.25)
print("ok")
"""


def test_pip_install_in_a_fresh_venv_runs_a_kernel(daemon, tmp_path):
    prefix = os.environ.get("GPUCMD_PREFIX", "/usr/local")
    stage = str(tmp_path / "stage")
    subprocess.run(["make", "-s", "-C", str(ROOT), f"B={BUILD}", f"PREFIX={prefix}", "install", f"DESTDIR={stage}"],
                   check=True, stdout=subprocess.DEVNULL)
    libdir = stage + prefix + "/lib"
    assert os.path.exists(libdir + "/libgpucmd.so.0"), f"no libgpucmd in the staged {libdir}"
    src = tmp_path / "src"
    shutil.copytree(ROOT / "python", src, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", str(src)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("GPUCMD_LIBRARY", "PYTHONPATH")}
    env["LD_LIBRARY_PATH"] = libdir
    run = subprocess.run([str(venv / "bin" / "python3"), "-c", PROGRAM % str(venv)], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
    meta = subprocess.run([str(venv / "bin" / "python3"), "-c", "import importlib.metadata as m, gpucmd; "
                           "print(m.version('gpucmd'), gpucmd.__version__, m.requires('gpucmd'))"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split(" ", 2)
    assert meta[0] == meta[1] and "numpy" in meta[2]  # pyproject.toml's version is the package's
