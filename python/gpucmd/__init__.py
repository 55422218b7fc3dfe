"""gpucmd: share one GPU between processes from Python, through gpucmdd.

    import numpy as np, gpucmd
    with gpucmd.connect() as gpu:
        a = gpu.buffer(np.arange(1024, dtype=np.float32))
        out = gpu.empty(1024, np.float32)
        with gpu.session("example") as s:
            s.dispatch("add_f32", [a, a, out], push=(1024,), threads=1024)
            s.commit_and_wait()
        print(out.read()[:4])   # [0. 2. 4. 6.]

A pure-Python layer (ctypes) over the installed C library libgpucmd; see
docs/PYTHON.md. Every failure raises a gpucmd.Error subclass carrying the
daemon's message.
"""
from .buffer import Buffer, BufferRange, BufferToken, SharedBuffer
from .client import Client, connect, default_socket, process_client, strerror
from .errors import (AccessDeniedError, AlreadyExistsError, BusyError, ConnectError, DeviceLostError,
                     DisconnectedError, ErrnoError, Error, FenceAbandonedError, InvalidArgumentError, LimitError,
                     NotFoundError, NotSupportedError, OutOfMemoryError, ProtocolError, TooBigError, VersionError,
                     VulkanError, WaitTimeoutError)
from ._lib import LibraryNotFound
from .session import Capture, Fence, Graph, GraphToken, Session, pack_push
from .types import (ClientStatus, GraphInfo, Heap, Info, Kernel, KernelBinding, MemoryReport, MemoryUsage, Profile,
                    SessionState, SessionStatus, Status)

__version__ = "0.1.0"

__all__ = [
    "connect", "default_socket", "process_client", "strerror", "Client", "Buffer", "SharedBuffer", "BufferRange",
    "BufferToken", "Session", "Fence", "Graph", "GraphToken", "Capture", "pack_push", "Info", "Heap", "Kernel",
    "KernelBinding", "Status", "ClientStatus", "SessionStatus", "MemoryReport", "MemoryUsage", "SessionState",
    "GraphInfo", "Profile", "Error", "ErrnoError", "ProtocolError", "VersionError", "DeviceLostError",
    "VulkanError", "DisconnectedError", "ConnectError", "FenceAbandonedError", "InvalidArgumentError",
    "NotFoundError", "AlreadyExistsError", "OutOfMemoryError", "TooBigError", "LimitError", "AccessDeniedError",
    "WaitTimeoutError", "BusyError", "NotSupportedError", "LibraryNotFound",
]
