"""The ctypes mirror of client/gpucmd.h matches the header: a C program
compiled here prints every struct's size and every field's offset, and
gpucmd/_lib.py must agree (a field added to the header and not here fails
this test instead of corrupting memory in a user's process)."""
from __future__ import annotations

import subprocess

from conftest import ROOT

from gpucmd import _lib


def test_struct_layouts_match_gpucmd_h(tmp_path):
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "gpucmd.h"', "int main(void) {"]
    want = {}
    for cls, cname in _lib.C_NAMES.items():
        lines.append(f'printf("{cname} size %zu\\n", sizeof({cname}));')
        want[f"{cname} size"] = str(__import__("ctypes").sizeof(cls))
        for field, *_ in cls._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {field}));')
            want[f"{cname} {field}"] = str(getattr(cls, field).offset)
    lines.append("return 0; }")
    (tmp_path / "abi.c").write_text("\n".join(lines))
    subprocess.run(["cc", "-I", str(ROOT / "client"), "-I", str(ROOT / "proto"), str(tmp_path / "abi.c"), "-o",
                    str(tmp_path / "abi")], check=True)
    out = subprocess.run([str(tmp_path / "abi")], capture_output=True, text=True, check=True).stdout
    got = dict(line.rsplit(" ", 1) for line in out.splitlines())
    wrong = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    assert not wrong, f"ctypes (python) against gpucmd.h (C): {wrong}"


def test_constants_match_gpucmd_h(tmp_path):
    """Every code, flag and limit the package spells out has the value the C
    header (proto/gpucmd_defs.h through gpucmd.h) gives it."""
    from gpucmd import errors
    ours = {f"GPUCMD_{k}": v for k, v in vars(errors).items() if k.startswith("E_") and isinstance(v, int)}
    for k in ("MAX_HEAPS", "MAX_QUEUE_FAMILIES", "MAX_BINDINGS", "BUFFER_HOST_VISIBLE", "SESSION_EAGER",
              "DISPATCH_BARRIER_BEFORE"):
        ours[f"GPUCMD_{k}"] = getattr(_lib, k)
    lines = ["#include <stdio.h>", '#include "gpucmd.h"', "int main(void) {"]
    lines += [f'printf("{k} %lld\\n", (long long)({k}));' for k in ours]
    lines.append("return 0; }")
    (tmp_path / "consts.c").write_text("\n".join(lines))
    subprocess.run(["cc", "-I", str(ROOT / "client"), "-I", str(ROOT / "proto"), str(tmp_path / "consts.c"), "-o",
                    str(tmp_path / "consts")], check=True)
    out = subprocess.run([str(tmp_path / "consts")], capture_output=True, text=True, check=True).stdout
    got = {k: int(v) for k, v in (line.split() for line in out.splitlines())}
    wrong = {k: (ours[k], got[k]) for k in ours if ours[k] != got[k]}
    assert not wrong, f"python against gpucmd.h: {wrong}"
