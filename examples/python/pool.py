#!/usr/bin/env python3
"""A multiprocessing pool sharing one GPU through gpucmdd.

The parent makes an input buffer x and an output buffer y in the daemon
and hands their tokens, with a fence of its own session (the gate), to 8
pool workers. Each worker opens its own connection, imports both buffers,
makes its stage wait for the gate on the GPU, then computes its slice of
y = 2x. Only then does the parent fill x and signal the gate: the workers'
stages ran after it, so every slice holds twice the parent's data, which
the parent checks against NumPy.

Usage: pool.py [--socket PATH] [--workers N]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
from typing import Optional, Tuple

import numpy as np

import gpucmd

N = 1 << 16  # elements per worker

_ready: Optional["mp.synchronize.Barrier"] = None
_socket: Optional[str] = None


def _init(ready, socket: Optional[str]) -> None:
    global _ready, _socket
    _ready, _socket = ready, socket


def work(job: Tuple[int, gpucmd.BufferToken, gpucmd.BufferToken, gpucmd.Fence]) -> float:
    """One worker: y[i*N:(i+1)*N] = x[...] + x[...] once the gate opens.
    Returns the sum of its slice as it read it back."""
    i, x_token, y_token, gate = job
    gpu = gpucmd.process_client(_socket)  # this process's own connection
    x, y = gpu.import_buffer(x_token), gpu.import_buffer(y_token)
    part = (x, i * N * 4, N * 4)
    with gpu.session(f"worker-{i}") as s:
        s.wait(gate)                       # on the GPU: no stage before the gate
        s.dispatch("add_f32", [part, part, (y, i * N * 4, N * 4)], push=(N,), threads=N)
        s.commit()
        gpu.flush()
        _ready.wait()                      # the parent opens the gate after this
        s.commit_and_wait()                # returns once the stage ran
    out = np.empty(N, np.float32)
    y.read(out, offset=i * N * 4)
    return float(out.sum(dtype=np.float64))


def main(socket: Optional[str] = None, workers: int = 8) -> None:
    ctx = mp.get_context("fork")
    ready = ctx.Barrier(workers + 1)
    with gpucmd.connect(socket) as gpu, gpu.session("gate") as gate_session:
        x = gpu.empty(workers * N, np.float32)
        y = gpu.empty(workers * N, np.float32)
        gate = gate_session.next_fence()
        jobs = [(i, x.export(), y.export(), gate) for i in range(workers)]
        with ctx.Pool(workers, initializer=_init, initargs=(ready, socket)) as pool:
            pending = pool.map_async(work, jobs)
            ready.wait()                   # every worker's stage waits on the gate now
            # x is in use by the workers' waiting stages (a write to it would
            # wait for them): the data goes to a staging buffer, and the
            # gate's stage copies it into x before it signals.
            data = np.random.default_rng(1).standard_normal(workers * N).astype(np.float32)
            staging = gpu.buffer(data)
            gate_session.copy(staging, x)
            gate_session.fence()           # the gate opens
            sums = pending.get(timeout=120)
        got = y.read()
    want = data + data
    assert np.array_equal(got, want), "a worker's slice is wrong"
    for i, s in enumerate(sums):
        assert np.isclose(s, want[i * N:(i + 1) * N].sum(dtype=np.float64)), f"worker {i} read back {s}"
    print(f"{workers} workers computed {workers * N} elements on one GPU, all equal to NumPy's")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket")
    ap.add_argument("--workers", type=int, default=8)
    a = ap.parse_args()
    main(a.socket, a.workers)
