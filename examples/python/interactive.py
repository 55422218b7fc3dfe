#!/usr/bin/env python3
"""A latency-critical client beside bulk work on one GPU.

An interactive service answers small requests (y = gelu(x) + x, 4096
floats each) one at a time and must answer fast, while bulk processes
stream large matmuls as fast as the GPU takes them. The interactive client
connects with priority="high": gpucmdd serves it on a loop thread of its
own (the HIGH shard) and its session's stages go to the GPU's high queue,
ahead of what bulk work the daemon holds back (docs/SHARDS.md). It checks
every answer against NumPy and prints its round trip's median alone and
beside the bulk processes, and which of the daemon's loops served it.

High priority is for root, gpucmdd's own user, and the users and groups
in high_users / high_groups of gpucmdd.conf; anyone else is refused.

Usage: interactive.py [--socket PATH] [--requests N] [--bulk N]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from typing import List, Optional

import numpy as np

import gpucmd

N = 4096          # floats per request
M = 256           # the bulk matmul's size


def _bulk(socket: Optional[str], started, stop) -> None:
    """Streams M x M matmuls, up to 8 stages ahead, until told to stop."""
    with gpucmd.connect(socket) as gpu, gpu.session("bulk") as s:
        a = gpu.buffer(np.ones((M, M), np.float32))
        c = gpu.empty((M, M))
        started.set()
        i = 0
        while not stop.is_set():
            s.dispatch("matmul_f32", [a, a, c], push=(M, M, M), groups=(M // 128, M // 128))
            # Every eighth stage waits for its own: the socket would
            # otherwise queue far more than the GPU runs before the stop.
            if i % 8 == 7:
                s.commit_and_wait()
            else:
                s.commit()
            s.reset()
            i += 1
        s.commit_and_wait()


def _serve(gpu: gpucmd.Client, s: gpucmd.Session, requests: int, rng: np.random.Generator) -> List[float]:
    """Answers `requests` requests; returns each one's round trip in µs."""
    x, y = gpu.shared(N), gpu.empty(N)
    took = []
    for _ in range(requests):
        v = rng.standard_normal(N, dtype=np.float32)
        t0 = time.perf_counter()
        x.array[...] = v
        s.dispatch("gelu_f32", [x, y], push=(N,), threads=N)
        s.dispatch("add_f32", [y, x, y], push=(N,), threads=N)
        s.commit_and_wait()
        got = y.read()
        took.append((time.perf_counter() - t0) * 1e6)
        s.reset()
        want = 0.5 * v * (1.0 + np.tanh(0.7978845608 * (v + 0.044715 * v ** 3))) + v
        err = float(np.abs(got - want).max())
        assert err < 1e-4, f"an answer differs from NumPy's by {err}"
    return took


def main(socket: Optional[str] = None, requests: int = 200, bulk: int = 2) -> None:
    rng = np.random.default_rng(3)
    ctx = mp.get_context("spawn")
    with gpucmd.connect(socket, priority="high") as gpu, gpu.session("interactive", priority="high") as s:
        me = gpu.status().own_client
        shard = {c.client: c.shard for c in gpu.status().client_list}[me]
        print(f"served by the daemon's {'HIGH shard' if shard else 'main loop'}")
        alone = _serve(gpu, s, requests, rng)
        started, stop = [ctx.Event() for _ in range(bulk)], ctx.Event()
        procs = [ctx.Process(target=_bulk, args=(socket, started[i], stop)) for i in range(bulk)]
        for p in procs:
            p.start()
        for e in started:
            e.wait(60)
        beside = _serve(gpu, s, requests, rng)
        stop.set()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0, f"a bulk process exited with {p.exitcode}"
    print(f"{requests} answers checked: median {statistics.median(alone):.0f} µs alone, "
          f"{statistics.median(beside):.0f} µs beside {bulk} bulk processes")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--bulk", type=int, default=2)
    a = ap.parse_args()
    main(a.socket, a.requests, a.bulk)
