"""Buffers in the daemon's GPU memory, typed like NumPy arrays.

A Buffer is bytes in the daemon with a shape and dtype this package keeps
(the daemon knows only the size). read() and write() copy through the
socket. A SharedBuffer lives in this process's memory (a sealed memfd the
daemon maps too): its `array` is a NumPy view of the mapping itself, so the
GPU reads what you write there and you read what the GPU wrote, with no
copy (zero_copy tells whether the device imports the memory or the daemon
copies it around each use; either way nothing crosses the socket).

Handles are released when their Python object goes away (or at free()).
A shared buffer's mapping stays as long as any NumPy view of it exists,
even after free() or the client's close(): a view never points at
unmapped memory.
"""
from __future__ import annotations

import ctypes
import errno
import weakref
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from . import _lib
from ._conn import _Conn
from .errors import make_error

Shape = Tuple[int, ...]

# Buffer.free() calls so far: a session reuses its last dispatch's binding
# array only while this has not moved.
frees = 0


def _shape(shape: Any) -> Shape:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


@dataclass(frozen=True)
class BufferToken:
    """A capability naming a buffer in the daemon (gpucmd_buffer_export),
    with the shape and dtype it was exported with. Picklable: send it to
    another process, which opens it with Client.import_buffer()."""
    token: bytes
    shape: Shape
    dtype: str

    def __post_init__(self) -> None:
        if len(self.token) != 16:
            raise ValueError(f"a gpucmd token is 16 bytes, not {len(self.token)}")


@dataclass(frozen=True)
class BufferRange:
    """A byte range of a buffer to bind to a kernel (Buffer.range())."""
    buffer: "Buffer"
    offset: int = 0
    size: int = 0  # 0: to the end of the buffer


class _Handle:
    """A buffer handle, released when the last holder goes: the Buffer
    object, and for a shared buffer each NumPy view of its mapping."""

    __slots__ = ("conn", "id", "__weakref__")

    def __init__(self, conn: _Conn, buffer_id: int) -> None:
        self.conn = conn
        self.id = buffer_id
        f = weakref.finalize(self, conn.release, conn.lib.gpucmd_buffer_free, buffer_id)
        f.atexit = False  # the process's exit closes the connection, which frees it


class Buffer:
    """A buffer in the daemon's memory, made by Client.buffer(),
    Client.empty() or Client.import_buffer(). `shape` and `dtype` say how
    read() returns it; `nbytes` is its size in the daemon."""

    def __init__(self, conn: _Conn, buffer_id: int, nbytes: int, shape: Shape, dtype: np.dtype) -> None:
        self._conn = conn
        self._handle: Optional[_Handle] = _Handle(conn, buffer_id)
        self._id = buffer_id
        self.nbytes = nbytes
        self.shape = shape
        self.dtype = np.dtype(dtype)
        # The binding of the whole buffer, built once: dispatch copies it.
        self._binding = _lib.Binding(buffer_id, 0, 0)

    @property
    def id(self) -> int:
        """The handle on this connection (gpucmd_buffer)."""
        if self._handle is None:
            raise make_error(-errno.ENOENT, f"gpucmd: buffer {self._id} was freed")
        return self._id

    def __repr__(self) -> str:
        state = "" if self._handle else " freed"
        return f"<gpucmd.{type(self).__name__} {self._id} {self.shape} {self.dtype}{state}>"

    def read(self, out: Optional[np.ndarray] = None, offset: int = 0) -> np.ndarray:
        """A new array of the buffer's shape and dtype with its contents, or
        `out` filled from byte `offset` (any C-contiguous array). Waits for
        GPU work already submitted that uses the buffer."""
        if out is None:
            out = np.empty(self.shape, self.dtype)
        elif not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("read(out=...): out must be a writeable C-contiguous array")
        self._conn.call(self._conn.lib.gpucmd_buffer_read, self.id, offset, out.ctypes.data, out.nbytes,
                        what=f"read of buffer {self._id}")
        return out

    def write(self, array: Any, offset: int = 0) -> None:
        """Copies `array` (anything np.ascontiguousarray takes, converted to
        the buffer's dtype) into the buffer at byte `offset`. Waits for GPU
        work already submitted that uses the buffer."""
        a = np.ascontiguousarray(array, dtype=self.dtype)
        self._conn.call(self._conn.lib.gpucmd_buffer_write, self.id, offset, a.ctypes.data, a.nbytes,
                        what=f"write of buffer {self._id}")

    def range(self, offset: int = 0, size: int = 0) -> BufferRange:
        """Bytes [offset, offset + size) of the buffer for a binding (size 0:
        to the end)."""
        return BufferRange(self, offset, size)

    def export(self) -> BufferToken:
        """A token another process (another connection) imports this buffer
        with; valid while this connection keeps the buffer."""
        t = _lib.Token()
        self._conn.call(self._conn.lib.gpucmd_buffer_export, self.id, ctypes.byref(t),
                        what=f"export of buffer {self._id}")
        return BufferToken(bytes(t.bytes), self.shape, self.dtype.str)

    def free(self) -> None:
        """Drops the handle now (work already submitted still runs). Using the
        buffer afterwards raises. A shared buffer's mapping stays until its
        last NumPy view is gone."""
        global frees
        if self._handle is not None:
            self._handle = None  # its finalizer releases it once no view holds it
            frees += 1

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()


class SharedBuffer(Buffer):
    """A buffer in shared memory (Client.shared()): `array` is a NumPy view
    of the mapping the GPU uses. Do not touch the view while submitted work
    uses the buffer (commit_and_wait first)."""

    def __init__(self, conn: _Conn, buffer_id: int, nbytes: int, shape: Shape, dtype: np.dtype, address: int,
                 mapped: int, zero_copy: bool) -> None:
        super().__init__(conn, buffer_id, nbytes, shape, dtype)
        self._address = address
        self.mapped_bytes = mapped    # nbytes rounded up to the daemon's shared_alignment
        self.zero_copy = zero_copy    # the GPU uses this memory itself (no copy in the daemon)

    @property
    def array(self) -> np.ndarray:
        """A NumPy view (shape, dtype) of the shared mapping: no copy. It keeps
        the mapping alive as long as it (or any view of it) exists."""
        h = self._handle
        if h is None:
            raise make_error(-errno.ENOENT, f"gpucmd: buffer {self._id} was freed")
        conn = self._conn
        mem = (ctypes.c_char * self.nbytes).from_address(self._address)
        mem._gpucmd_handle = h  # type: ignore[attr-defined]  # the handle lives while the memory is viewed
        with conn.lock:
            conn.check()
            conn.views.add(id(mem))
        weakref.finalize(mem, conn.view_released, id(mem)).atexit = False
        count = self.nbytes // self.dtype.itemsize
        return np.frombuffer(mem, self.dtype, count).reshape(self.shape)
