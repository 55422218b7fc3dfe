"""Encoder sessions, fences and captured graphs.

A Session streams commands (dispatch, copy, fill, replay) into its open
stage; commit(), commit_and_wait() and fence() submit the stage and reset()
opens the next one, as in the C API. Streamed calls return at once; the
daemon keeps a session's first failure and commit_and_wait() raises it.

A Fence is a session's timeline value with the token that names it: it
pickles, so another process (its own connection) can wait for it on the
host (Client.wait) or make its own stage wait on the GPU (Session.wait).
"""
from __future__ import annotations

import ctypes
import errno
import struct
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib
from . import buffer as _buffer
from .buffer import Buffer, BufferRange
from .errors import make_error
from .types import GraphInfo, Kernel, Profile, SessionState

if TYPE_CHECKING:
    from .client import Client

PushConstants = Union[None, bytes, bytearray, memoryview, np.generic, np.ndarray, int, float, Sequence[Any]]
Bindable = Union[Buffer, BufferRange, Tuple[Buffer, int, int]]

PRIORITY_NORMAL, PRIORITY_HIGH, PRIORITY_LOW = 0, 1, 2
_PRIORITIES = {"normal": PRIORITY_NORMAL, "high": PRIORITY_HIGH, "low": PRIORITY_LOW}


def pack_push(push: PushConstants) -> bytes:
    """Push-constant bytes: bytes as they are; a NumPy scalar (a structured
    one for a block of mixed fields) or array by its bytes; a tuple of
    Python numbers as consecutive 32-bit words (int: uint32, or int32 when
    negative; float: float32; bool: uint32), NumPy scalars in it by their
    own bytes."""
    if push is None:
        return b""
    if isinstance(push, (bytes, bytearray, memoryview)):
        return bytes(push)
    if isinstance(push, (np.generic, np.ndarray)):
        return push.tobytes()
    if isinstance(push, (int, float)):
        push = (push,)
    out = []
    for i, v in enumerate(push):
        if isinstance(v, np.generic):
            out.append(v.tobytes())
        elif isinstance(v, bool) or (isinstance(v, int) and 0 <= v <= 0xFFFFFFFF):
            out.append(struct.pack("<I", v))
        elif isinstance(v, int) and -0x80000000 <= v < 0:
            out.append(struct.pack("<i", v))
        elif isinstance(v, float):
            out.append(struct.pack("<f", v))
        else:
            raise ValueError(f"push constant {i} ({v!r}): a tuple packs ints of 32 bits and floats; "
                             "use a NumPy scalar or bytes for other types")
    return b"".join(out)


def _binding_array(buffers: Tuple[Any, ...]) -> Any:
    """The gpucmd_binding array for a dispatch's buffers; raises for a
    freed one."""
    binds = (_lib.Binding * len(buffers))()
    for i, b in enumerate(buffers):
        if isinstance(b, Buffer):
            if b._handle is None:
                b.id  # raises: freed
            binds[i] = b._binding
        elif isinstance(b, BufferRange):
            binds[i] = _lib.Binding(b.buffer.id, b.offset, b.size)
        else:
            buf, off, size = b
            binds[i] = _lib.Binding(buf.id, off, size)
    return binds


class Fence:
    """Value `value` of a session's fence, named by a 16-byte token.
    Picklable; wait with Client.wait(fence) in any process, or fence.wait()
    in the process that made it."""

    __slots__ = ("token", "value", "_client")

    def __init__(self, token: bytes, value: int, client: Optional["Client"] = None) -> None:
        if len(token) != 16:
            raise ValueError(f"a gpucmd token is 16 bytes, not {len(token)}")
        self.token = bytes(token)
        self.value = int(value)
        self._client = client

    def __reduce__(self):
        return (Fence, (self.token, self.value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fence) and (self.token, self.value) == (other.token, other.value)

    def __hash__(self) -> int:
        return hash((self.token, self.value))

    def __repr__(self) -> str:
        return f"<gpucmd.Fence {self.token.hex()[:8]}… value {self.value}>"

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Client.wait(self, timeout) on the client that made the fence (an
        unpickled fence has none: use Client.wait)."""
        if self._client is None:
            raise ValueError("this fence came from another process: wait with client.wait(fence)")
        return self._client.wait(self, timeout)


@dataclass(frozen=True)
class GraphToken:
    """A capability naming a captured graph (Graph.export()); picklable."""
    token: bytes


class Graph:
    """A captured sequence of commands (Session.capture()), replayed into
    any session of this connection with Session.replay()."""

    def __init__(self, client: "Client", graph_id: int, info: GraphInfo) -> None:
        self._conn = client._conn
        self.id = graph_id
        self.info = info
        f = weakref.finalize(self, self._conn.release, self._conn.lib.gpucmd_graph_free, graph_id)
        f.atexit = False
        self._finalizer = f

    def export(self) -> GraphToken:
        """A token another connection imports the graph with."""
        t = _lib.Token()
        self._conn.call(self._conn.lib.gpucmd_graph_export, self.id, ctypes.byref(t), what="graph export")
        return GraphToken(bytes(t.bytes))

    def free(self) -> None:
        """Drops the handle now; work already recorded still runs."""
        if self._finalizer.detach() and not self._conn.closing:  # a disconnect frees it anyway
            self._conn.call(self._conn.lib.gpucmd_graph_free, self.id, what="graph free")

    def __repr__(self) -> str:
        return f"<gpucmd.Graph {self.id}: {self.info.nodes} nodes>"


class Capture:
    """with session.capture() as cap: commands recorded into cap.graph."""

    def __init__(self, session: "Session") -> None:
        self._session = session
        self.graph: Optional[Graph] = None

    def __enter__(self) -> "Capture":
        self._session.capture_begin()
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        graph = self._session.capture_end()
        if exc_type is None:
            self.graph = graph
        else:
            graph.free()


class Session:
    """An encoder session (Client.session()). A context manager: leaving it
    closes the session (committed work completes, uncommitted is
    discarded)."""

    def __init__(self, client: "Client", session_id: int, label: str) -> None:
        self._client = client
        self._conn = client._conn
        self.id = session_id
        self.label = label
        self._drained = False       # mirrors the daemon: a commit drains, reset() reopens
        self._fence_value = 0       # the last value fence() signalled
        self._fence_token: Optional[bytes] = None
        self._last_push: Any = None
        self._last_push_bytes = b""
        self._dispatch = self._conn.fast["gpucmd_dispatch_flags"]
        # The last dispatch's bindings, reused while the same buffers come
        # and no buffer was freed since (a freed one must raise). It holds
        # those buffers until a dispatch with others or close().
        self._bind_key: Tuple[Any, ...] = ()
        self._bind_frees = -1
        self._bind_array: Any = None
        f = weakref.finalize(self, self._conn.release, self._conn.lib.gpucmd_session_close, session_id)
        f.atexit = False
        self._finalizer = f

    def __repr__(self) -> str:
        return f"<gpucmd.Session {self.id} {self.label!r}>"

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, name: str, *args: Any) -> int:
        conn = self._conn
        fn = getattr(conn.lib, name)
        with conn.lock:
            conn.check()
            r = fn(conn.ptr, self.id, *args)
            if r < 0:
                raise conn.error(r, f"{name[7:]} on session '{self.label}'")
            return r

    def _fast(self, name: str) -> None:
        """A per-stage call without arguments but the session."""
        conn = self._conn
        with conn.lock:
            conn.check()
            r = conn.fast[name](conn.cptr, self.id)
            if r < 0:
                raise conn.error(r, f"{name[7:]} on session '{self.label}'")

    def close(self) -> None:
        """Closes the session (streamed): committed work still completes."""
        self._bind_key, self._bind_array = (), None
        if self._finalizer.detach() and not self._conn.closing:  # a disconnect closes it anyway
            self._call("gpucmd_session_close")

    # -- commands --------------------------------------------------------------

    def dispatch(self, kernel: Union[Kernel, str], buffers: Sequence[Bindable] = (), push: PushConstants = None,
                 groups: Union[int, Tuple[int, ...], None] = None, *, threads: Union[int, Tuple[int, ...], None] = None,
                 barrier_before: bool = False) -> None:
        """Streams one dispatch of `kernel` (a Kernel or its name) with
        `buffers` bound in binding order (Buffer, buffer.range(off, size) or
        (buffer, offset, size)), push constants (see pack_push) and a grid of
        `groups` workgroups, or enough groups to cover `threads` invocations.
        barrier_before: a barrier before it even where no range conflicts."""
        k = self._client.kernel(kernel) if not isinstance(kernel, Kernel) else kernel
        if groups is None:
            if threads is None:
                raise ValueError(f"dispatch of '{k.name}': give groups= or threads=")
            gx, gy, gz = k.groups_for(threads)
        elif isinstance(groups, int):
            gx, gy, gz = groups, 1, 1
        else:
            gx, gy, gz = (tuple(groups) + (1, 1))[:3]
        if push is self._last_push and type(push) in (tuple, bytes):  # immutable: packed once
            pb = self._last_push_bytes
        else:
            pb = pack_push(push)
            self._last_push, self._last_push_bytes = push, pb
        key = tuple(buffers)
        if key != self._bind_key or _buffer.frees != self._bind_frees:
            self._bind_array = _binding_array(key)
            self._bind_key, self._bind_frees = key, _buffer.frees
        conn = self._conn
        with conn.lock:
            conn.check()
            r = self._dispatch(conn.cptr, self.id, k.id, self._bind_array, len(key), pb, len(pb), gx, gy, gz,
                               1 if barrier_before else 0)
            if r < 0:
                raise conn.error(r, f"dispatch of '{k.name}' on session '{self.label}'")

    def copy(self, src: Buffer, dst: Buffer, size: Optional[int] = None, src_offset: int = 0,
             dst_offset: int = 0) -> None:
        """Streams a copy of `size` bytes (default: all of src from
        src_offset) between two buffers."""
        if size is None:
            size = src.nbytes - src_offset
        self._call("gpucmd_buffer_copy", src.id, src_offset, dst.id, dst_offset, size)

    def fill(self, buffer: Buffer, value: Union[int, float] = 0, offset: int = 0, size: int = 0) -> None:
        """Streams a fill of `size` bytes at `offset` (multiples of 4; 0: to
        the end) with a 32-bit word: an int as it is, a float as float32."""
        word = struct.unpack("<I", struct.pack("<f", value))[0] if isinstance(value, float) else value
        self._call("gpucmd_buffer_fill", buffer.id, offset, size, word)

    def begin_stage(self, label: str) -> None:
        """Streams the label the next submitted command buffer carries."""
        self._call("gpucmd_begin_stage", label.encode())

    def residency_add(self, buffer: Buffer) -> None:
        """Puts the buffer back in the residency set at the next commit."""
        self._call("gpucmd_residency_add", buffer.id)

    def residency_remove(self, buffer: Buffer) -> None:
        """Takes the buffer out of the residency set at the next commit."""
        self._call("gpucmd_residency_remove", buffer.id)

    def wait(self, fence: Fence) -> None:
        """Streams a GPU-side wait: the next submitted command buffer waits
        until `fence` (of any process) reaches its value."""
        t = _lib.Token.from_buffer_copy(fence.token)
        self._call("gpucmd_wait_fence", ctypes.byref(t), fence.value)

    # -- stages ------------------------------------------------------------------

    def commit(self) -> None:
        """Streams the stage's submission; nothing waits."""
        self._fast("gpucmd_commit_stage")
        self._drained = True

    def commit_and_wait(self) -> None:
        """Submits the stage and returns when the GPU finished it, raising the
        first error the session met since its last synchronising call."""
        self._drained = True
        self._fast("gpucmd_commit_and_wait")

    def fence(self, label: Optional[str] = None, flush: bool = True) -> Fence:
        """Submits the stage signalling the session's fence at its next
        value and returns that Fence (picklable). flush: send it to the
        daemon now, since the point of a fence is that someone else may wait
        for it (False leaves it streamed, like the C call)."""
        if self._drained:
            raise make_error(-errno.EINVAL, f"fence on session '{self.label}': the stage was committed already; "
                             "reset() opens the next one")
        f = self.next_fence()
        self._call("gpucmd_fence_stage", label.encode() if label is not None else None)
        self._drained = True
        self._fence_value = f.value
        if flush:
            self._client.flush()
        return f

    def next_fence(self) -> Fence:
        """The Fence the next fence() will signal, to hand to other
        processes before it is submitted (their waits hold until it is).
        The first call exports the session's fence token (a round trip)."""
        if self._fence_token is None:
            t = _lib.Token()
            self._call("gpucmd_fence_export", ctypes.byref(t))
            self._fence_token = bytes(t.bytes)
        return Fence(self._fence_token, self._fence_value + 1, self._client)

    def reset(self) -> None:
        """Streams the opening of the next stage (after a fence, its first
        command buffer waits on the fence's value)."""
        self._fast("gpucmd_reset_for_next_stage")
        self._drained = False

    def query(self) -> SessionState:
        """The session's state and counters (round trip)."""
        st = _lib.SessionState()
        self._call("gpucmd_session_query", ctypes.byref(st))
        return SessionState(**{f: v.decode(errors="replace") if isinstance(v, bytes) else v
                               for f, v in ((f, getattr(st, f)) for f, _ in _lib.SessionState._fields_)})

    # -- capture and replay --------------------------------------------------------

    def capture(self) -> Capture:
        """with session.capture() as cap: ... records the commands streamed in
        the block into cap.graph instead of running them."""
        return Capture(self)

    def capture_begin(self) -> None:
        """Streams the start of a capture (see capture())."""
        self._call("gpucmd_capture_begin")

    def capture_end(self) -> Graph:
        """Ends the capture and returns its Graph; a request of the capture
        that failed raises here."""
        g = ctypes.c_uint32()
        info = _lib.GraphInfo()
        self._call("gpucmd_capture_end", ctypes.byref(g), ctypes.byref(info))
        return Graph(self._client, g.value, GraphInfo._from(info))

    def replay(self, graph: Graph, push: Optional[Mapping[int, PushConstants]] = None,
               rebind: Optional[Mapping[int, Buffer]] = None) -> None:
        """Streams a replay of `graph` into the stage, with new push constants
        for some dispatch nodes ({node: push}) and buffers for some slots
        ({slot: buffer})."""
        push = push or {}
        rebind = rebind or {}
        data = [pack_push(p) for p in push.values()]
        pa = (_lib.GraphPush * len(push))(*[_lib.GraphPush(node, ctypes.cast(ctypes.c_char_p(d), ctypes.c_void_p),
                                                           len(d)) for node, d in zip(push, data)])
        ra = (_lib.GraphRebind * len(rebind))(*[_lib.GraphRebind(slot, b.id) for slot, b in rebind.items()])
        self._call("gpucmd_graph_replay", graph.id, pa, len(push), ra, len(rebind))

    # -- GPU timing -------------------------------------------------------------------

    def profile(self, enable: bool = True) -> None:
        """Streams timestamp queries on (off) for command buffers opened from
        now on."""
        self._call("gpucmd_profile", bool(enable))

    def commit_and_wait_timed(self) -> Tuple[int, int]:
        """commit_and_wait(), returning the GPU start and end (ns) of the
        command buffer it waited for (zeros unless profiling)."""
        t = _lib.GpuTimes()
        self._drained = True
        self._call("gpucmd_commit_and_wait_timed", ctypes.byref(t))
        return t.start_ns, t.end_ns

    def profile_fetch(self, clear: bool = True) -> Profile:
        """The session's timed command buffers and commands since the last
        clearing fetch."""
        return self._client._profile_fetch(self.id, None, clear)


def priority_value(priority: Union[int, str]) -> int:
    """GPUCMD_PRIORITY_* for "normal", "high", "low" (or the number itself)."""
    if isinstance(priority, str):
        if priority not in _PRIORITIES:
            raise ValueError(f"priority {priority!r}: one of {', '.join(_PRIORITIES)}")
        return _PRIORITIES[priority]
    return int(priority)
