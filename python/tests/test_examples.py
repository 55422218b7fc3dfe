"""examples/python/mlp.py runs and agrees with NumPy (it asserts so)."""
from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "examples" / "python"))
import mlp  # noqa: E402


def test_mlp_forward_pass_matches_numpy(daemon, capsys):
    mlp.main(daemon.socket, batch=20, steps=2)
    assert capsys.readouterr().out.count("max |GPU - NumPy|") == 2


sys.path.insert(0, str(ROOT / "examples" / "python"))
import interactive  # noqa: E402


def test_interactive_client_is_served_by_the_high_shard_and_answers_right(daemon, capsys):
    interactive.main(daemon.socket, requests=10, bulk=1)
    out = capsys.readouterr().out
    assert "served by the daemon's HIGH shard" in out and "10 answers checked" in out
