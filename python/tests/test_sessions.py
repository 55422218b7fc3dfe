"""Sessions, push constants, kernels from SPIR-V, fences, graphs and GPU
timing against the real daemon."""
from __future__ import annotations

import os
import pickle
import select

import numpy as np
import pytest

import gpucmd
from conftest import spirv

N = 1000


def test_push_constants_from_a_tuple_a_structured_scalar_and_bytes_agree(gpu):
    x = gpu.buffer(np.arange(N, dtype=np.float32))
    outs = [gpu.empty(N) for _ in range(3)]
    block = np.array((N, 0.5), dtype=[("n", "<u4"), ("alpha", "<f4")])[()]
    with gpu.session("push") as s:
        for out, push in zip(outs, [(N, 0.5), block, np.uint32(N).tobytes() + np.float32(0.5).tobytes()]):
            s.dispatch("scale_f32", [x, out], push=push, threads=N)
        s.commit_and_wait()
    for out in outs:
        assert np.array_equal(out.read(), np.arange(N, dtype=np.float32) * 0.5)
    assert gpucmd.pack_push((1, -1, 2.0, np.uint16(3))) == bytes.fromhex("01000000ffffffff000000400300")


def test_ranges_bind_parts_of_buffers_and_groups_can_be_given(gpu):
    a = gpu.buffer(np.arange(2 * N, dtype=np.float32))
    out = gpu.empty(2 * N)
    with gpu.session("ranges") as s:
        s.dispatch("add_f32", [a.range(4 * N), (a, 4 * N, 4 * N), out.range(0, 4 * N)], push=(N,), groups=(4, 1, 1))
        s.commit_and_wait()
    r = out.read()
    assert np.array_equal(r[:N], 2 * np.arange(N, 2 * N, dtype=np.float32)) and not r[N:].any()


def test_copy_fill_labels_residency_and_counters(gpu):
    a, b = gpu.empty(N), gpu.empty(N)
    with gpu.session("misc", eager=True) as s:
        s.begin_stage("stage-one")
        s.fill(a, 1.5)
        s.fill(b, 7, offset=4 * 10, size=4 * 10)
        s.copy(a, b, size=4 * 5, dst_offset=0)
        s.residency_remove(a)
        s.residency_add(a)
        s.dispatch("add_f32", [a, a, a], push=(N,), threads=N, barrier_before=True)
        s.commit_and_wait()
        st = s.query()
        assert st.last_label == "stage-one" and st.dispatches == 1 and st.eager and st.residency_requests == 2
        assert st.barriers_forced >= 1 and st.drained
    assert (a.read() == 3.0).all()
    rb = b.read()
    assert (rb[:5] == 1.5).all() and not rb[5:10].any() and (rb[10:20].view(np.uint32) == 7).all()


def test_fences_count_up_and_wait_on_the_host_and_through_an_fd(gpu):
    x = gpu.empty(N)
    with gpu.session("fences") as s:
        f0 = s.next_fence()
        assert f0.value == 1 and not gpu.wait(f0, timeout=0)
        s.dispatch("fill_f32", [x], push=(N, 1.0), threads=N)
        f1 = s.fence("first")
        assert f1 == f0 and f1.wait(timeout=10)
        with pytest.raises(gpucmd.InvalidArgumentError, match="reset"):
            s.fence()
        s.reset()
        fd = gpu.fence_fd(s.next_fence())
        try:
            assert select.select([fd], [], [], 0)[0] == []
            s.dispatch("fill_f32", [x], push=(N, 2.0), threads=N)
            f2 = s.fence()
            assert f2.value == 2 and select.select([fd], [], [], 20)[0] == [fd]
            assert int.from_bytes(os.read(fd, 8), "little") == 1
        finally:
            os.close(fd)
        assert gpu.wait(pickle.loads(pickle.dumps(f2)))
    assert (x.read() == 2.0).all()


def test_a_stage_of_another_connection_waits_for_the_fence_on_the_gpu(gpu):
    x = gpu.empty(N)
    y = gpucmd.BufferToken  # the other side's output
    with gpu.session("producer") as p, gpucmd.connect() as other:
        gate = p.next_fence()
        xi = other.import_buffer(x.export())
        y = other.empty(N)
        with other.session("consumer") as c:
            c.wait(pickle.loads(pickle.dumps(gate)))
            c.dispatch("add_f32", [xi, xi, y], push=(N,), threads=N)
            done = c.fence()
            assert not other.wait(done, timeout=0)  # held back until the gate is submitted
            p.dispatch("fill_f32", [x], push=(N, 21.0), threads=N)
            p.fence()
            assert other.wait(done, timeout=20)
            assert (y.read() == 42.0).all()


def test_an_abandoned_fence_fails_its_waiters(gpu):
    x = gpu.empty(N)
    s = gpu.session("abandoned")
    f = s.next_fence()
    fd = gpu.fence_fd(f)
    with gpu.session("waiter") as w:
        w.wait(f)
        w.dispatch("fill_f32", [x], push=(N, 1.0), threads=N)
        w.commit()
        s.close()
        gpu.flush()  # close is streamed
        try:
            assert select.select([fd], [], [], 20)[0] == [fd]
            assert int.from_bytes(os.read(fd, 8), "little") == 2
        finally:
            os.close(fd)
        with pytest.raises(gpucmd.FenceAbandonedError):
            w.commit_and_wait()
    with pytest.raises(gpucmd.NotFoundError, match="unknown fence token"):
        gpu.wait(f, timeout=1)


def test_kernels_registered_from_spirv_dispatch_and_unregister(gpu):
    k = gpu.register_kernel("py_negate", spirv("negate"))
    assert k.client and k.local_size == (64, 1, 1) and gpu.kernel("py_negate") == k and k in gpu.kernels()
    x, out = gpu.buffer(np.arange(N, dtype=np.float32)), gpu.empty(N)
    with gpu.session("client-kernel") as s:
        s.dispatch("py_negate", [x, out], push=(N,), threads=N)
        s.commit_and_wait()
    assert np.array_equal(out.read(), -np.arange(N, dtype=np.float32))
    gpu.unregister_kernel("py_negate")
    with pytest.raises(gpucmd.NotFoundError):
        gpu.kernel("py_negate")


def test_capture_replays_with_new_push_constants_and_buffers_and_exports(gpu):
    x, y, z = gpu.buffer(np.ones(N, np.float32)), gpu.empty(N), gpu.empty(N)
    with gpu.session("graph") as s:
        with s.capture() as cap:
            s.dispatch("scale_f32", [x, y], push=(N, 2.0), threads=N)
        g = cap.graph
        assert (g.info.nodes, g.info.dispatches, g.info.n_slots) == (1, 1, 2)
        s.replay(g)
        s.commit_and_wait()
        assert (y.read() == 2.0).all()
        s.reset()
        s.replay(g, push={0: (N, 5.0)}, rebind={1: z})
        s.commit_and_wait()
    assert (z.read() == 5.0).all() and (y.read() == 2.0).all()
    tok = pickle.loads(pickle.dumps(g.export()))
    with gpucmd.connect() as other:
        g2 = other.import_graph(tok)
        assert g2.info.nodes == 1
        with other.session("replayer") as s2:
            s2.replay(g2, push={0: (N, 9.0)})
            s2.commit_and_wait()
    assert (y.read() == 9.0).all()
    g.free()


def test_profiling_times_the_stage_and_its_dispatches(gpu):
    x = gpu.empty(N)
    with gpu.session("timed") as s:
        s.profile()
        s.dispatch("fill_f32", [x], push=(N, 1.0), threads=N)
        start, end = s.commit_and_wait_timed()
        assert end >= start > 0
        p = s.profile_fetch()
        assert p.session == "timed" and p.commands and p.commands[0].name == "fill_f32"
        s.profile(False)
        assert not s.query().profiling


def test_threads_share_one_client(gpu):
    import threading
    errors = []

    def worker(i: int) -> None:
        try:
            x = gpu.empty(N)
            with gpu.session(f"thread-{i}") as s:
                for step in range(20):
                    s.dispatch("fill_f32", [x], push=(N, float(i * 100 + step)), threads=N)
                    s.commit_and_wait()
                    s.reset()
                    assert (x.read() == i * 100 + step).all()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_host_visible_buffers_and_profiles_by_label(gpu):
    b = gpu.empty((16, 16), np.int32, host_visible=True)
    b.write(np.arange(256, dtype=np.int32).reshape(16, 16))
    assert b.read()[15, 15] == 255
    with gpu.session("by-label") as s:
        s.profile()
        s.fill(b, 3)
        s.commit_and_wait()
        p = gpu.profile_fetch("by-label")
        assert p.session == "by-label" and [c.name for c in p.commands] == ["buffer fill"]


def test_a_capture_that_raises_leaves_no_graph_and_buffers_close_with_with(gpu):
    with gpu.empty(N) as x, gpu.session("capture-error") as s:
        with pytest.raises(RuntimeError):
            with s.capture() as cap:
                s.fill(x, 1.0)
                raise RuntimeError("in the block")
        assert cap.graph is None and not s.query().capturing
        s.fill(x, 2.0)
        s.commit_and_wait()
        assert (x.read() == 2.0).all()
    with pytest.raises(gpucmd.NotFoundError, match="freed"):
        x.read()
    sh = gpu.shared(1000, np.float32)
    assert sh.mapped_bytes % gpu.info().shared_alignment == 0 and sh.mapped_bytes >= sh.nbytes


def test_a_push_block_changed_in_place_is_packed_again(gpu):
    x = gpu.empty(N)
    block = np.zeros((), dtype=[("n", "<u4"), ("value", "<f4")])
    block["n"] = N
    with gpu.session("mutable-push") as s:
        for v in (1.0, 2.0):
            block["value"] = v
            s.dispatch("fill_f32", [x], push=block, threads=N)
            s.commit_and_wait()
            s.reset()
            assert (x.read() == v).all()


def test_leaving_a_session_after_its_client_closed_is_quiet(daemon):
    with gpucmd.connect() as c:
        s = c.session("outlived")
        c.close()
        s.close()
