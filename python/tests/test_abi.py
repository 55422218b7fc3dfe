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
