"""The connection to gpucmdd: gpucmd.connect() and the Client it returns.

A Client is a context manager; leaving it (or close()) disconnects, and
the daemon frees everything the connection made once its GPU work is done.
It may be used from several threads (calls are serialised on it). After
os.fork() it belongs to the parent: connect again in the child, or use
gpucmd.process_client(), which does so by itself.
"""
from __future__ import annotations

import ctypes
import errno
import os
import threading
import weakref
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _lib
from ._conn import _Conn, connect_raw
from .buffer import Buffer, BufferToken, SharedBuffer, _shape
from .errors import make_error
from .session import Fence, Graph, GraphToken, Session, priority_value
from .types import GraphInfo, Info, Kernel, MemoryReport, Profile, Status

WAIT_FOREVER_MS = 0xFFFFFFFF

# The C library's arrays are malloc'd: the caller frees them with libc's free.
_free = ctypes.CDLL(None).free
_free.argtypes = [ctypes.c_void_p]
_free.restype = None


class Client:
    """A connection to gpucmdd (gpucmd.connect())."""

    def __init__(self, conn: _Conn) -> None:
        self._conn = conn
        self._kernels: Dict[str, Kernel] = {}
        weakref.finalize(self, conn.close)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self._conn.closing else ""
        return f"<gpucmd.Client {self.socket!r}{state}>"

    @property
    def socket(self) -> str:
        """The socket path this client connected to."""
        return self._conn.socket

    def close(self) -> None:
        """Flushes streamed requests and disconnects. Where NumPy views of
        shared buffers are still alive, the disconnect waits until the last
        one is gone (it would unmap them); calls fail from now on either way."""
        self._conn.close()

    def flush(self) -> None:
        """Sends every streamed request now."""
        self._conn.call(self._conn.lib.gpucmd_flush, what="flush")

    # -- daemon and device -------------------------------------------------------

    def info(self) -> Info:
        """The daemon, its device and its counters."""
        i = _lib.Info()
        self._conn.call(self._conn.lib.gpucmd_info, ctypes.byref(i), what="info")
        return Info._from(i)

    def ping(self) -> None:
        """A round trip with no effect: proves the daemon answers."""
        self._conn.call(self._conn.lib.gpucmd_ping, what="ping")

    def status(self) -> Status:
        """The daemon and this user's clients and sessions (gpucmd status)."""
        st = _lib.Status()
        self._conn.call(self._conn.lib.gpucmd_status, ctypes.byref(st), what="status")
        try:
            return Status._from(st)
        finally:
            self._conn.lib.gpucmd_status_free(ctypes.byref(st))

    def memory_report(self) -> MemoryReport:
        """This connection's and this user's buffer memory and the heaps."""
        m = _lib.MemoryReport()
        self._conn.call(self._conn.lib.gpucmd_memory_report, ctypes.byref(m), what="memory report")
        try:
            return MemoryReport._from(m)
        finally:
            _free(ctypes.cast(m.clients, ctypes.c_void_p))

    # -- kernels -------------------------------------------------------------------

    def kernels(self) -> List[Kernel]:
        """Every kernel this connection can dispatch: the daemon's standard
        ones, then those it registered."""
        arr = ctypes.POINTER(_lib.KernelInfo)()
        n = ctypes.c_size_t()
        self._conn.call(self._conn.lib.gpucmd_kernel_list, ctypes.byref(arr), ctypes.byref(n), what="kernel list")
        try:
            return [Kernel._from(arr[i]) for i in range(n.value)]
        finally:
            _free(ctypes.cast(arr, ctypes.c_void_p))

    def kernel(self, name: Union[str, Kernel]) -> Kernel:
        """The kernel of that name (looked up once, then remembered)."""
        if isinstance(name, Kernel):
            return name
        k = self._kernels.get(name)
        if k is None:
            ki = _lib.KernelInfo()
            self._conn.call(self._conn.lib.gpucmd_kernel_find, name.encode(), ctypes.byref(ki),
                            what=f"kernel '{name}'")
            k = self._kernels[name] = Kernel._from(ki)
        return k

    def register_kernel(self, name: str, spirv: bytes) -> Kernel:
        """Registers a compute kernel from a SPIR-V module (bytes, at most
        1 MiB), visible to this connection only until unregister_kernel()
        or the end of the connection. The daemon validates and reflects it;
        its refusal says why (InvalidArgumentError, TooBigError,
        AlreadyExistsError, LimitError, AccessDeniedError)."""
        data = bytes(spirv)
        ki = _lib.KernelInfo()
        self._conn.call(self._conn.lib.gpucmd_kernel_register, name.encode(), data, len(data), ctypes.byref(ki),
                        what=f"registering kernel '{name}'")
        k = self._kernels[name] = Kernel._from(ki)
        return k

    def unregister_kernel(self, kernel: Union[str, Kernel]) -> None:
        """Drops a kernel this connection registered."""
        k = self.kernel(kernel)
        self._conn.call(self._conn.lib.gpucmd_kernel_unregister, k.id, what=f"unregistering kernel '{k.name}'")
        self._kernels.pop(k.name, None)

    # -- buffers ---------------------------------------------------------------------

    def empty(self, shape: Union[int, Tuple[int, ...]], dtype: Any = np.float32, *, shared: bool = False,
              host_visible: bool = False) -> Buffer:
        """A new buffer for an array of `shape` and `dtype` (the daemon
        zero-fills it). shared=True: a SharedBuffer whose `array` is a NumPy
        view of the memory the GPU uses. host_visible: ask for CPU-mappable
        device memory."""
        shape = _shape(shape)
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if nbytes <= 0:
            raise ValueError(f"a buffer of shape {shape} and dtype {dt} holds no bytes")
        conn = self._conn
        b = ctypes.c_uint32()
        if shared:
            addr, zc = ctypes.c_void_p(), ctypes.c_bool()
            conn.call(conn.lib.gpucmd_buffer_create_shared, nbytes, ctypes.byref(b), ctypes.byref(addr),
                      ctypes.byref(zc), what=f"shared buffer of {nbytes} bytes")
            align = self._shared_alignment()
            mapped = -(-nbytes // align) * align if align else nbytes
            return SharedBuffer(conn, b.value, nbytes, shape, dt, addr.value, mapped, zc.value)
        flags = _lib.BUFFER_HOST_VISIBLE if host_visible else 0
        conn.call(conn.lib.gpucmd_buffer_create, nbytes, flags, ctypes.byref(b), what=f"buffer of {nbytes} bytes")
        return Buffer(conn, b.value, nbytes, shape, dt)

    zeros = empty

    def shared(self, shape: Union[int, Tuple[int, ...]], dtype: Any = np.float32) -> SharedBuffer:
        """empty(shape, dtype, shared=True)."""
        return self.empty(shape, dtype, shared=True)  # type: ignore[return-value]

    def buffer(self, array: Any, dtype: Any = None, *, shared: bool = False) -> Buffer:
        """A new buffer holding a copy of `array` (its shape and dtype, or
        `dtype`). shared=True copies it into a SharedBuffer's mapping
        instead of through the socket."""
        a = np.ascontiguousarray(array, dtype=dtype)
        buf = self.empty(a.shape or (1,), a.dtype, shared=shared)
        if shared:
            buf.array[...] = a.reshape(buf.shape)  # type: ignore[attr-defined]
        else:
            buf.write(a)
        return buf

    def import_buffer(self, token: BufferToken) -> Buffer:
        """A handle on this connection for the buffer a token names (another
        connection's export), typed as it was exported."""
        t = _lib.Token.from_buffer_copy(token.token)
        b = ctypes.c_uint32()
        self._conn.call(self._conn.lib.gpucmd_buffer_import, ctypes.byref(t), ctypes.byref(b), what="buffer import")
        dt = np.dtype(token.dtype)
        nbytes = int(np.prod(token.shape, dtype=np.int64)) * dt.itemsize
        return Buffer(self._conn, b.value, nbytes, tuple(token.shape), dt)

    def _shared_alignment(self) -> int:
        a = getattr(self, "_shared_align", None)
        if a is None:
            a = self._shared_align = self.info().shared_alignment
        return a

    # -- sessions, fences, graphs ------------------------------------------------------

    def session(self, label: str = "python", *, priority: Union[int, str] = "normal", eager: bool = False) -> Session:
        """Opens an encoder session (a context manager that closes it).
        priority: "normal", "high" or "low"; eager: the daemon may start long
        stages while they stream in (GPUCMD_SESSION_EAGER)."""
        s = ctypes.c_uint32()
        self._conn.call(self._conn.lib.gpucmd_session_open_flags, label.encode(), priority_value(priority),
                        _lib.SESSION_EAGER if eager else 0, ctypes.byref(s), what=f"opening session '{label}'")
        return Session(self, s.value, label)

    def wait(self, fence: Fence, timeout: Optional[float] = None) -> bool:
        """Waits on the host until the fence reaches its value: True, or
        False when `timeout` seconds passed first (0: just test; None: no
        limit). Raises FenceAbandonedError when it never will."""
        ms = WAIT_FOREVER_MS if timeout is None else max(0, min(int(timeout * 1000), WAIT_FOREVER_MS - 1))
        t = _lib.Token.from_buffer_copy(fence.token)
        conn = self._conn
        with conn.lock:
            conn.check()
            r = conn.lib.gpucmd_fence_wait(conn.ptr, ctypes.byref(t), fence.value, ms)
            if r == -errno.ETIMEDOUT:
                return False
            if r < 0:
                raise conn.error(r, f"wait for fence value {fence.value}")
        return True

    def fence_fd(self, fence: Fence) -> int:
        """A new eventfd (yours to close) that becomes readable when the
        fence reaches its value; reading it gives 1, or 2 when the fence was
        abandoned. For select/epoll/asyncio loops."""
        fd = ctypes.c_int(-1)
        t = _lib.Token.from_buffer_copy(fence.token)
        self._conn.call(self._conn.lib.gpucmd_fence_fd, ctypes.byref(t), fence.value, ctypes.byref(fd),
                        what="fence fd")
        return fd.value

    def import_graph(self, token: GraphToken) -> Graph:
        """A handle on this connection for a graph another connection
        exported; it replays with the exporter's buffers unless rebound."""
        t = _lib.Token.from_buffer_copy(token.token)
        g = ctypes.c_uint32()
        info = _lib.GraphInfo()
        self._conn.call(self._conn.lib.gpucmd_graph_import, ctypes.byref(t), ctypes.byref(g), ctypes.byref(info),
                        what="graph import")
        return Graph(self, g.value, GraphInfo._from(info))

    def profile_fetch(self, label: str, clear: bool = True) -> Profile:
        """The GPU profile of a profiled session of any connection of this
        user (any user, for root), by its label."""
        return self._profile_fetch(0, label, clear)

    def _profile_fetch(self, session: int, label: Optional[str], clear: bool) -> Profile:
        p = _lib.Profile()
        self._conn.call(self._conn.lib.gpucmd_profile_fetch, session, label.encode() if label else None, clear,
                        ctypes.byref(p), what="profile fetch")
        try:
            return Profile._from(p)
        finally:
            self._conn.lib.gpucmd_profile_free(ctypes.byref(p))


def connect(socket: Optional[str] = None, priority: Union[int, str, None] = None) -> Client:
    """Connects to gpucmdd at `socket`, or where the C library looks:
    $GPUCMD_SOCKET, else $XDG_RUNTIME_DIR/gpucmd.sock, else
    /run/gpucmd/gpucmd.sock. Raises ConnectError with the reason.

    priority="high": this client runs latency-critical work, and gpucmdd
    serves it on a loop of its own (gpucmd_connect_priority; refused for
    those who may not open high sessions). None: $GPUCMD_PRIORITY, else
    normal."""
    return Client(connect_raw(socket, None if priority is None else priority_value(priority)))


def default_socket() -> str:
    """The socket path connect() uses without an argument."""
    buf = ctypes.create_string_buffer(4096)
    r = _lib.lib().gpucmd_default_socket(buf, len(buf))
    if r < 0:
        raise make_error(r, "default socket path too long")
    return buf.value.decode()


_process_clients: Dict[Tuple[int, Optional[str]], Client] = {}
_process_lock = threading.Lock()


def process_client(socket: Optional[str] = None) -> Client:
    """One Client per process (and socket), connected on first use: what a
    multiprocessing worker calls to get its connection. A forked child gets
    its own, never its parent's."""
    key = (os.getpid(), socket)
    with _process_lock:
        c = _process_clients.get(key)
        if c is None or c._conn.closing:
            c = _process_clients[key] = connect(socket)
        return c


def strerror(code: int) -> str:
    """libgpucmd's short text for an error code."""
    return _lib.lib().gpucmd_strerror(code).decode()
