"""One connection's C pointer, its lock and the release of handles whose
Python objects went away.

Every object of a connection (Client, Buffer, Session, Graph, the NumPy
views of shared buffers) holds the same _Conn. Calls take its lock, so a
Client may be used from several threads (libgpucmd itself is not
thread-safe). Handles are released from weakref finalizers, which may run
at any point of any thread: a finalizer never calls the library while
another call is in the middle of its work; it queues the handle, and the
next call (or close) releases it.

A connection made before os.fork() belongs to the parent: in the child every
call raises DisconnectedError and finalizers do nothing, so the child never
writes into the parent's socket.
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Callable, List, Tuple

from . import _lib
from .errors import E_DISCONNECTED, ConnectError, Error, make_error

_fork_generation = 0


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Conn:
    __slots__ = ("lib", "ptr", "cptr", "fast", "lock", "generation", "pid", "closing", "closed", "views", "pending",
                 "socket", "__weakref__")

    def __init__(self, lib: ctypes.CDLL, ptr: int) -> None:
        self.lib = lib
        self.ptr = ptr
        # The per-dispatch calls go through copies without argtypes: ctypes'
        # conversion of eleven declared arguments costs more than the C call
        # (handles and counts pass as C ints, the client as this c_void_p).
        self.cptr = ctypes.c_void_p(ptr)
        self.fast = {name: lib._FuncPtr((name, lib)) for name in _lib.FAST}
        self.lock = threading.Lock()
        self.generation = _fork_generation
        self.pid = os.getpid()
        self.closing = False          # close() asked for; waits for NumPy views to go
        self.closed = False           # gpucmd_disconnect done
        # ids of the NumPy views of shared mappings still alive: a set, whose
        # add and discard are atomic, since finalizers change it without
        # the lock (they may run while this thread holds it)
        self.views: set = set()
        self.pending: List[Tuple[Callable, int]] = []  # (C free function, handle) to release
        self.socket = lib.gpucmd_socket_path(ptr).decode()

    # -- calls ---------------------------------------------------------------

    def check(self) -> None:
        """Raises unless calls may be made now; releases queued handles.
        Called with the lock held."""
        if self.closing or self.closed:
            if not self.views:
                self._disconnect()  # a deferred close whose last view went
            raise _disconnected("gpucmd: this client was closed")
        if self.generation != _fork_generation:
            raise _disconnected(f"gpucmd: this connection was made by process {self.pid} before a fork; "
                                "connect again in this process (gpucmd.connect())")
        if self.pending:
            self._drain()

    def error(self, code: int, what: str = "") -> Error:
        """The exception for a failed call's code, with the library's message
        (read before anything else can call the library). Lock held."""
        msg = self.lib.gpucmd_last_error(self.ptr).decode(errors="replace")
        if what and what not in msg:
            msg = f"{what}: {msg}"
        return make_error(code, msg)

    def call(self, fn: Callable[..., int], *args, what: str = "") -> int:
        """fn(ptr, *args) under the lock; raises on a negative result."""
        with self.lock:
            self.check()
            r = fn(self.ptr, *args)
            if r < 0:
                raise self.error(r, what)
            return r

    # -- releasing -----------------------------------------------------------

    def release(self, free: Callable[..., int], handle: int) -> None:
        """A finalizer's release of a handle: done now when nobody is using
        the connection, else queued for the next call. Never raises."""
        if self.closed or self.generation != _fork_generation:
            return  # the disconnect frees it, or it is the parent's
        self.pending.append((free, handle))
        if self.lock.acquire(blocking=False):
            try:
                if not self.closing and not self.closed:
                    self._drain()
            finally:
                self.lock.release()

    def _drain(self) -> None:
        while self.pending:
            free, handle = self.pending.pop()
            free(self.ptr, handle)  # failure: the handle is gone already

    def view_released(self, view: int) -> None:
        """A NumPy view's finalizer: the last one lets a deferred close
        happen. Never blocks on the lock (see release)."""
        if self.generation != _fork_generation:
            return
        self.views.discard(view)
        if self.closing and not self.views and self.lock.acquire(blocking=False):
            try:
                self._disconnect()
            finally:
                self.lock.release()

    def close(self) -> None:
        """Disconnects now, or once the last NumPy view of a shared mapping
        is gone (disconnecting unmaps them)."""
        if self.generation != _fork_generation:
            return
        with self.lock:
            self.closing = True
            if not self.views:
                self._disconnect()
        # A view that went while the lock was held here could not disconnect.
        if not self.views and not self.closed:
            with self.lock:
                self._disconnect()

    def _disconnect(self) -> None:
        if not self.closed:
            self.closed = True
            self.pending.clear()
            self.lib.gpucmd_disconnect(self.ptr)


def _disconnected(msg: str) -> Error:
    return make_error(E_DISCONNECTED, msg)


def connect_raw(socket: str | None, priority: int | None = None) -> _Conn:
    """gpucmd_connect (gpucmd_connect_priority with a priority); raises the
    library's reason on failure."""
    lib = _lib.lib()
    path = os.fsencode(socket) if socket is not None else None
    ptr = lib.gpucmd_connect(path) if priority is None else lib.gpucmd_connect_priority(path, priority)
    if not ptr:
        msg = lib.gpucmd_last_error(None).decode(errors="replace")
        raise ConnectError(E_DISCONNECTED, msg)
    return _Conn(lib, ptr)
