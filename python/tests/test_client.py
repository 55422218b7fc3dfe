"""The connection, the daemon's reports and buffers, against the real daemon."""
from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import gpucmd
from conftest import ROOT, wait_for


def test_connect_uses_the_default_socket_and_reports_the_device(gpu, daemon):
    assert gpu.socket == daemon.socket == gpucmd.default_socket()
    info = gpu.info()
    assert info.validation and info.device_type == "cpu" and info.protocol_version == 2
    assert info.clients >= 1 and info.heaps and info.queue_families
    assert info.max_buffer_size > 0 and len(info.max_groups) == 3
    gpu.ping()


def test_kernels_are_listed_and_found_by_name(gpu):
    ks = {k.name: k for k in gpu.kernels()}
    add = ks["add_f32"]
    assert (len(add.bindings), add.push_size, add.local_size, add.client) == (3, 4, (256, 1, 1), False)
    assert add.bindings[0].read_only and add.bindings[2].write_only
    assert gpu.kernel("add_f32") == add and gpu.kernel(add) is add
    # transpose_f32's groups are 16 x 4: each dimension divided by its own size
    assert ks["transpose_f32"].local_size == (16, 4, 1)
    assert add.groups_for(1000) == (4, 1, 1) and ks["transpose_f32"].groups_for((33, 16)) == (3, 4, 1)


def test_status_names_this_process_and_its_sessions(gpu):
    with gpu.session("status-check", priority="high"):
        st = gpu.status()
    me = [c for c in st.client_list if c.pid == os.getpid()]
    assert me and st.device_name == gpu.info().device_name
    sessions = [s for c in me for s in c.sessions]
    assert any(s.label == "status-check" and s.priority == 1 for s in sessions)
    assert 0 < st.loop_cpu_ns <= st.uptime_ms * 1_000_000 + 500_000_000  # the daemon's loop thread's CPU time


def test_a_high_client_is_served_by_the_high_shard(daemon):
    with gpucmd.connect(priority="high") as h, gpucmd.connect() as bulk:
        x = np.arange(256, dtype=np.float32)
        a, out = h.buffer(x), h.empty(256)
        with h.session("high", priority="high") as s:
            s.dispatch("add_f32", [a, a, out], push=(256,), groups=1)
            s.commit_and_wait()
        assert np.array_equal(out.read(), 2 * x)
        st = bulk.status()
        shard = {c.client: c.shard for c in st.client_list}
        assert st.shards == 2 and shard[h.status().own_client] == 1 and shard[st.own_client] == 0
        kept = bulk.empty(16)
        with pytest.raises(gpucmd.Error, match="other loop"):
            h.import_buffer(kept.export())
    with pytest.raises(ValueError, match="priority"):
        gpucmd.connect(priority="urgent")


def test_memory_report_counts_this_connections_buffers(gpu):
    b = gpu.empty((256, 4), np.float32)
    m = gpu.memory_report()
    assert m.self.buffers == 1 and m.self.bytes >= b.nbytes == 4096
    assert any(c.client == m.self.client for c in m.clients)


def test_connect_to_a_missing_socket_names_it(daemon):
    with pytest.raises(gpucmd.ConnectError) as e:
        gpucmd.connect(str(daemon.dir / "nothing.sock"))
    assert "nothing.sock" in str(e.value) and isinstance(e.value, ConnectionError)


def test_a_closed_client_refuses_calls_and_the_daemon_sees_it_go(daemon):
    with gpucmd.connect() as c:
        c.empty(16)
    with pytest.raises(gpucmd.DisconnectedError, match="closed"):
        c.info()
    with gpucmd.connect() as probe:
        wait_for(lambda: probe.info().clients == 1 and probe.info().live_buffers == 0, "disconnected")


def test_missing_library_error_names_what_was_looked_for(tmp_path):
    code = "import gpucmd\ntry:\n    gpucmd.connect()\nexcept gpucmd.LibraryNotFound as e:\n    print(e)\n"
    env = dict(os.environ, GPUCMD_LIBRARY=str(tmp_path / "libnothing.so"), PYTHONPATH=str(ROOT / "python"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "libnothing.so" in out and "GPUCMD_LIBRARY" in out
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), LD_LIBRARY_PATH="", PKG_CONFIG_PATH=str(tmp_path))
    env.pop("GPUCMD_LIBRARY")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    if out:  # else an installed libgpucmd was found, which is right too
        assert "libgpucmd.so.0" in out and "dynamic linker" in out


# ---- buffers ----------------------------------------------------------------

@pytest.mark.parametrize("dtype,shape", [(np.float32, (1000,)), (np.int32, (7, 13)), (np.float64, (3, 4, 5)),
                                         (np.uint8, (4097,)), (np.float16, (64, 64))])
def test_buffer_round_trips_numpy_arrays(gpu, dtype, shape):
    a = (np.arange(np.prod(shape)) % 251).astype(dtype).reshape(shape)
    b = gpu.buffer(a)
    assert (b.shape, b.dtype, b.nbytes) == (shape, np.dtype(dtype), a.nbytes)
    r = b.read()
    assert r.shape == shape and r.dtype == dtype and np.array_equal(r, a)


def test_empty_is_zero_filled_and_write_at_an_offset_lands_there(gpu):
    b = gpu.empty(64, np.int32)
    assert not b.read().any()
    b.write(np.array([7, 8, 9], np.int32), offset=4 * 10)
    r = b.read()
    assert list(r[9:14]) == [0, 7, 8, 9, 0]
    out = np.full(4, -1, np.int32)
    assert b.read(out=out, offset=40) is out and list(out) == [7, 8, 9, 0]


def test_buffer_token_pickles_and_another_connection_reads_the_same_bytes(gpu):
    a = np.linspace(0, 1, 300, dtype=np.float32).reshape(3, 100)
    b = gpu.buffer(a)
    tok = pickle.loads(pickle.dumps(b.export()))
    with gpucmd.connect() as other:
        imp = other.import_buffer(tok)
        assert imp.shape == (3, 100) and np.array_equal(imp.read(), a)
        imp.write(np.zeros_like(a))
    assert not b.read().any()


def test_a_freed_buffer_refuses_use(gpu):
    b = gpu.empty(16)
    b.free()
    with pytest.raises(gpucmd.NotFoundError, match="freed"):
        b.read()
    with gpu.session() as s, pytest.raises(gpucmd.Error, match="freed"):
        s.dispatch("add_f32", [b, b, b], push=(16,), groups=1)


# ---- shared memory: zero copy --------------------------------------------------

def test_shared_view_is_the_gpus_memory_with_no_transfer(gpu):
    n = 4096
    sh = gpu.shared(n, np.float32)
    assert sh.zero_copy  # lavapipe imports host memory
    view = sh.array
    assert view.__array_interface__["data"][0] == sh._address
    out = gpu.empty(n, np.float32)
    view[:] = np.arange(n, dtype=np.float32)  # no write call: the kernel reads the view's memory
    with gpu.session("zero-copy") as s:
        s.dispatch("scale_f32", [sh, out], push=(n, 3.0), threads=n)
        s.commit_and_wait()
        assert np.array_equal(out.read(), np.arange(n, dtype=np.float32) * 3)
        s.reset()
        s.dispatch("fill_f32", [sh], push=(n, 2.5), threads=n)  # the GPU writes the mapping
        s.commit_and_wait()
    assert (view == 2.5).all() and (sh.array == 2.5).all()  # no read call


def test_a_view_keeps_the_mapping_after_free(gpu):
    sh = gpu.buffer(np.full(1024, 4.0, np.float32), shared=True)
    v = sh.array[10:20]
    sh.free()
    del sh
    gc.collect()
    assert (v == 4.0).all() and gpu.info().live_buffers >= 1  # still mapped and held
    del v
    gc.collect()
    gpu.ping()  # the queued release goes with the next call
    wait_for(lambda: gpu.memory_report().self.buffers == 0, "released")


def test_a_view_keeps_the_connection_after_close(daemon):
    c = gpucmd.connect()
    sh = c.shared((32, 32), np.int32)
    v = sh.array
    v[:] = 5
    c.close()
    with pytest.raises(gpucmd.DisconnectedError):
        c.info()
    with gpucmd.connect() as probe:
        before = probe.info().clients
        assert before == 2 and int(v.sum()) == 5 * 32 * 32  # the connection waits for the view
        del v, sh
        gc.collect()
        wait_for(lambda: probe.info().clients == 1, "disconnected once the view went")
