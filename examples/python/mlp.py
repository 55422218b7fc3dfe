#!/usr/bin/env python3
"""A two-layer MLP forward pass on the shared GPU, checked against NumPy.

    y = softmax(rms_norm(gelu(x @ W1) @ W2))

The weights go to the daemon once (Client.buffer); the batch is written
straight into a shared buffer's NumPy view (no copy through the socket),
and the four kernels of a forward pass stream into one stage that a single
commit_and_wait runs: the daemon puts a barrier only where one kernel reads
what the one before wrote.

Usage: mlp.py [--socket PATH] [--batch N] [--steps N]
"""
from __future__ import annotations

import argparse
from typing import Optional

import numpy as np

import gpucmd

D_IN, HIDDEN, D_OUT = 256, 512, 64


def gelu(v: np.ndarray) -> np.ndarray:
    return 0.5 * v * (1.0 + np.tanh(0.7978845608 * (v + 0.044715 * v ** 3)))


def reference(x: np.ndarray, w1: np.ndarray, w2: np.ndarray, eps: float) -> np.ndarray:
    h = gelu(x @ w1)
    z = h @ w2
    z = z / np.sqrt((z * z).mean(axis=1, keepdims=True) + eps)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main(socket: Optional[str] = None, batch: int = 32, steps: int = 3) -> None:
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((D_IN, HIDDEN)) / np.sqrt(D_IN)).astype(np.float32)
    w2 = (rng.standard_normal((HIDDEN, D_OUT)) / np.sqrt(HIDDEN)).astype(np.float32)
    eps = 1e-5
    with gpucmd.connect(socket) as gpu, gpu.session("mlp") as s:
        W1, W2 = gpu.buffer(w1), gpu.buffer(w2)
        ones = gpu.buffer(np.ones(D_OUT, np.float32))          # rms_norm's weight
        x = gpu.shared((batch, D_IN), np.float32)               # x.array is the GPU's memory
        h, hg = gpu.empty((batch, HIDDEN)), gpu.empty((batch, HIDDEN))
        z, zn, y = gpu.empty((batch, D_OUT)), gpu.empty((batch, D_OUT)), gpu.empty((batch, D_OUT))
        xs = x.array
        for step in range(steps):
            xs[...] = rng.standard_normal((batch, D_IN), dtype=np.float32)
            s.dispatch("matmul_f32", [x, W1, h], push=(batch, HIDDEN, D_IN), groups=(-(-HIDDEN // 128),
                                                                                      -(-batch // 128)))
            s.dispatch("gelu_f32", [h, hg], push=(batch * HIDDEN,), threads=batch * HIDDEN)
            s.dispatch("matmul_f32", [hg, W2, z], push=(batch, D_OUT, HIDDEN), groups=(-(-D_OUT // 128),
                                                                                       -(-batch // 128)))
            s.dispatch("rms_norm_f32", [z, ones, zn], push=(batch, D_OUT, eps), groups=batch)
            s.dispatch("softmax_f32", [zn, y], push=(batch, D_OUT), groups=batch)
            s.commit_and_wait()
            s.reset()
            got, want = y.read(), reference(xs, w1, w2, eps)
            err = float(np.abs(got - want).max())
            assert err < 1e-4, f"step {step}: the GPU's output differs from NumPy's by {err}"
            print(f"step {step}: batch of {batch}, max |GPU - NumPy| = {err:.2e}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    main(a.socket, a.batch, a.steps)
