"""Failures come back as exceptions with the daemon's words and code."""
from __future__ import annotations

import errno
import os
import pickle

import numpy as np
import pytest

import gpucmd
from conftest import spirv


def test_a_streamed_dispatch_error_is_raised_by_commit_and_wait_with_the_daemons_message(gpu):
    a = gpu.empty(64)
    with gpu.session("bad") as s:
        s.dispatch("add_f32", [a, a], push=(64,), groups=1)  # streamed: no error yet
        with pytest.raises(gpucmd.InvalidArgumentError) as e:
            s.commit_and_wait()
    err = e.value
    assert "kernel 'add_f32': 2 buffers bound, the kernel takes 3" in str(err)
    assert err.code == -errno.EINVAL and err.errno == errno.EINVAL
    assert isinstance(err, (ValueError, OSError, gpucmd.Error))
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == str(err) and again.code == err.code


def test_wrong_push_size_names_both_sizes(gpu):
    a = gpu.empty(64)
    with gpu.session() as s:
        s.dispatch("add_f32", [a, a, a], push=(64, 1), groups=1)
        with pytest.raises(gpucmd.InvalidArgumentError, match="8 bytes of push constants, the kernel takes 4"):
            s.commit_and_wait()


def test_unknown_kernel_and_oversized_buffer_and_bad_spirv(gpu):
    with pytest.raises(gpucmd.NotFoundError, match="no_such_kernel"):
        gpu.kernel("no_such_kernel")
    with pytest.raises(gpucmd.Error) as e:
        gpu.empty(gpu.info().max_buffer_size + 4, np.uint8)
    assert e.value.code < 0 and "byte" in str(e.value)
    with pytest.raises(gpucmd.InvalidArgumentError) as e:
        gpu.register_kernel("py_garbage", b"\x03\x02\x23\x07" + bytes(60))
    assert "py_garbage" in str(e.value)
    with pytest.raises(gpucmd.AlreadyExistsError):
        gpu.register_kernel("add_f32", spirv("negate"))


def test_push_constants_that_do_not_pack_are_refused_here():
    with pytest.raises(ValueError, match="push constant 1"):
        gpucmd.pack_push((1, 2 ** 40))
    with pytest.raises(ValueError, match="push constant 0"):
        gpucmd.pack_push(("x",))


def test_dispatch_needs_groups_or_threads_and_tokens_are_16_bytes(gpu):
    with gpu.session() as s, pytest.raises(ValueError, match="groups= or threads="):
        s.dispatch("add_f32", [])
    with pytest.raises(ValueError, match="16 bytes"):
        gpucmd.Fence(b"short", 1)
    with pytest.raises(gpucmd.NotFoundError):
        gpu.import_buffer(gpucmd.BufferToken(bytes(16), (4,), "<f4"))


def test_every_code_has_its_class():
    cases = {-1000: gpucmd.ProtocolError, -1001: gpucmd.VersionError, -1002: gpucmd.DeviceLostError,
             -1003: gpucmd.VulkanError, -1004: gpucmd.DisconnectedError, -1005: gpucmd.FenceAbandonedError,
             -errno.EINVAL: gpucmd.InvalidArgumentError, -errno.ENOENT: gpucmd.NotFoundError,
             -errno.EEXIST: gpucmd.AlreadyExistsError, -errno.ENOMEM: gpucmd.OutOfMemoryError,
             -errno.E2BIG: gpucmd.TooBigError, -errno.EMFILE: gpucmd.LimitError,
             -errno.EPERM: gpucmd.AccessDeniedError, -errno.ETIMEDOUT: gpucmd.WaitTimeoutError,
             -errno.EBUSY: gpucmd.BusyError, -errno.ENOTSUP: gpucmd.NotSupportedError,
             -errno.EIO: gpucmd.ErrnoError}
    from gpucmd.errors import make_error
    for code, cls in cases.items():
        e = make_error(code, "")
        assert type(e) is cls and e.code == code and str(e) and gpucmd.strerror(code)
    assert isinstance(make_error(-errno.ETIMEDOUT, "t"), TimeoutError)
    assert isinstance(make_error(-errno.EPERM, "p"), PermissionError)


def test_a_forked_child_cannot_use_its_parents_connection(gpu):
    b = gpu.empty(16)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            gpu.info()
        except gpucmd.DisconnectedError as e:
            code = 0 if "before a fork" in str(e) else 2
        del b  # its finalizer must not write into the parent's socket
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    gpu.ping()  # the parent's connection is intact
    assert b.read().shape == (16,)


def test_a_buffer_freed_between_two_dispatches_of_the_same_list_is_refused(gpu):
    a, b = gpu.empty(256), gpu.empty(256)
    bufs = [a, a, b]
    with gpu.session() as s:
        s.dispatch("add_f32", bufs, push=(256,), groups=1)
        b.free()
        with pytest.raises(gpucmd.NotFoundError, match="freed"):
            s.dispatch("add_f32", bufs, push=(256,), groups=1)
        s.commit_and_wait()
