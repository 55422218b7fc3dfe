"""What the daemon reports, as frozen dataclasses: the daemon and device
(Info), the kernels (Kernel), the daemon's clients and sessions (Status), a
connection's memory (MemoryReport), a session's counters (SessionState), a
captured graph (GraphInfo) and GPU timing (Profile). Field names and
meanings are those of client/gpucmd.h.
"""
from __future__ import annotations

import ctypes
import dataclasses
from dataclasses import dataclass
from typing import Any, Tuple

from . import _lib


def _value(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, ctypes.Array):
        return tuple(_value(x) for x in v)
    return v


def from_c(cls: type, c: ctypes.Structure, **given: Any):
    """cls filled from the struct's fields of the same names; `given`
    supplies the rest (arrays cut to their counts, nested dataclasses)."""
    kw = {f.name: given[f.name] if f.name in given else _value(getattr(c, f.name))
          for f in dataclasses.fields(cls)}
    return cls(**kw)


@dataclass(frozen=True)
class Heap:
    """A memory heap of the device and what gpucmdd holds of it (bytes)."""
    size: int
    device_local: bool
    budget: int
    usage: int
    allocated: int
    used: int


@dataclass(frozen=True)
class QueueFamily:
    """A queue family of the device: its index, queue count and VkQueueFlags."""
    index: int
    count: int
    flags: int


def heaps(c: Any) -> Tuple[Heap, ...]:
    """The first n_heaps heaps of a C struct that has them."""
    return tuple(from_c(Heap, c.heaps[i]) for i in range(c.n_heaps))


@dataclass(frozen=True)
class Info:
    """The daemon, its device and its counters (gpucmd_info)."""
    daemon_version: str
    protocol_version: int
    device_name: str
    vendor_id: int
    device_id: int
    device_type: str
    driver_name: str
    driver_info: str
    api_version: str
    queue_families: Tuple[QueueFamily, ...]
    queue_family: int
    heaps: Tuple[Heap, ...]
    validation: bool
    validation_messages: int
    clients: int
    live_buffers: int
    live_sessions: int
    submissions: int
    dispatches: int
    barriers: int
    barriers_elided: int
    concurrent_groups: int
    gpu_ns: int
    timestamp_valid_bits: int
    timestamp_period: float
    max_frame: int
    max_buffer_size: int
    max_groups: Tuple[int, int, int]
    storage_offset_alignment: int
    shared_alignment: int
    reply_poll_us: int

    @classmethod
    def _from(cls, c: _lib.Info) -> "Info":
        qf = tuple(from_c(QueueFamily, c.queue_families[i]) for i in range(c.n_queue_families))
        return from_c(cls, c, queue_families=qf, heaps=heaps(c))


@dataclass(frozen=True)
class KernelBinding:
    """One storage-buffer binding of a kernel."""
    binding: int
    read_only: bool
    write_only: bool
    min_size: int


@dataclass(frozen=True)
class Kernel:
    """A kernel this connection can dispatch: the daemon's standard ones and
    those it registered (client=True). Pass it, or its name, to
    Session.dispatch."""
    id: int
    name: str
    bindings: Tuple[KernelBinding, ...]
    push_size: int
    local_size: Tuple[int, int, int]
    client: bool
    entry_point: str
    variant: str

    @classmethod
    def _from(cls, c: _lib.KernelInfo) -> "Kernel":
        b = tuple(from_c(KernelBinding, c.bindings[i]) for i in range(c.n_bindings))
        return from_c(cls, c, bindings=b)

    def groups_for(self, threads: int | Tuple[int, ...]) -> Tuple[int, int, int]:
        """The workgroup counts that cover `threads` invocations (an int or
        up to three dimensions) with this kernel's local size."""
        t = (threads,) if isinstance(threads, int) else tuple(threads)
        t = t + (1,) * (3 - len(t))
        return tuple(max(1, -(-int(n) // ls)) for n, ls in zip(t, self.local_size))  # type: ignore[return-value]


@dataclass(frozen=True)
class MemoryUsage:
    """One connection's buffer memory (client != 0), or one user's."""
    client: int
    pid: int
    uid: int
    name: str
    bytes: int
    buffers: int
    peak: int
    resident_buffers: int
    resident_bytes: int
    limit: int
    gpu_ns: int


@dataclass(frozen=True)
class MemoryReport:
    """gpucmd_memory_report: the heaps, this connection, this user, and this
    user's connections (every connection, for root)."""
    heaps: Tuple[Heap, ...]
    self: MemoryUsage
    user: MemoryUsage
    clients: Tuple[MemoryUsage, ...]
    device_allocations: int
    max_allocations: int
    live_buffers: int
    resident_buffers: int
    kept_allocations: int    # freed large allocations gpucmdd keeps for reuse
    kept_bytes: int
    reused_allocations: int  # buffers given a kept allocation since gpucmdd started

    @classmethod
    def _from(cls, c: _lib.MemoryReport) -> "MemoryReport":
        clients = tuple(from_c(MemoryUsage, c.clients[i]) for i in range(c.n_clients))
        return from_c(cls, c, heaps=heaps(c), self=from_c(MemoryUsage, c.self), user=from_c(MemoryUsage, c.user),
                      clients=clients)


@dataclass(frozen=True)
class SessionStatus:
    """A session of a client, as gpucmd status shows it."""
    session: int
    label: str
    priority: int
    in_flight: int
    command_buffers: int
    dispatches: int
    completed: int
    fence_value: int
    gpu_ns: int


@dataclass(frozen=True)
class ClientStatus:
    """A connection of the daemon, as gpucmd status shows it."""
    client: int
    pid: int
    uid: int
    gid: int
    name: str
    comm: str
    connected_ms: int
    in_flight: int
    stalled: bool
    fence_waiters: int
    memory: MemoryUsage
    sessions: Tuple[SessionStatus, ...]
    command_buffers: int
    dispatches: int
    gpu_util: int            # share of the GPU's time over the last second, in 1/1000
    shard: int               # gpucmdd's loop serving it: 0 bulk, 1 the HIGH shard


@dataclass(frozen=True)
class PriorityStatus:
    """One priority class in gpucmd_status: sessions open, stages committed,
    commit_and_wait round trips and their daemon-side latency (newest 1024)."""
    sessions: int
    stages: int
    round_trips: int
    rtt_median_us: int
    rtt_p99_us: int


@dataclass(frozen=True)
class Status:
    """gpucmd_status: the daemon and this user's clients (all, for root)."""
    daemon_version: str
    device_name: str
    uptime_ms: int
    heaps: Tuple[Heap, ...]
    clients: int
    live_sessions: int
    live_buffers: int
    submissions: int
    dispatches: int
    max_inflight_per_client: int
    device_losses: int
    client_list: Tuple[ClientStatus, ...]
    own_client: int          # the asking connection's number (gpucmd_status.self)
    connections: int         # connections accepted since gpucmdd started
    priorities: Tuple["PriorityStatus", ...]  # indexed by priority: normal, high, low
    high_queue: bool         # high sessions have a GPU queue of their own
    bulk_kept_back: int      # loop turns in which bulk work waited in the daemon for high work
    round_trip_queue: bool   # round trips of normal and low sessions have a GPU queue of their own
    round_trip_stages: int   # command buffers that went that way since gpucmdd started
    loop_cpu_ns: int         # CPU time of gpucmdd's loop threads (every request) since it started
    retire_cpu_ns: int       # and of their completion threads
    shards: int              # loops serving clients: 2 with the HIGH shard
    parks: int               # times one loop stopped the others (status, limits, reload)
    parked_us: int           # the time they held the others stopped, in all

    @classmethod
    def _from(cls, c: _lib.Status) -> "Status":
        cl = []
        for i in range(c.n_clients):
            x = c.client_list[i]
            ss = tuple(from_c(SessionStatus, x.sessions[j]) for j in range(x.n_sessions))
            cl.append(from_c(ClientStatus, x, memory=from_c(MemoryUsage, x.memory), sessions=ss))
        pr = tuple(from_c(PriorityStatus, c.priorities[i]) for i in range(3))
        return from_c(cls, c, heaps=heaps(c), client_list=tuple(cl), own_client=c.self, priorities=pr)


@dataclass(frozen=True)
class SessionState:
    """gpucmd_session_query: a session's state and counters."""
    drained: bool
    fence_pending: bool
    has_event: bool
    fence_value: int
    wait_value: int
    wait_count: int
    last_label: str
    syncs: int
    dispatches: int
    command_buffers: int
    barriers: int
    completed: int
    residency_requests: int
    residency_pending: int
    submit_order: int
    barriers_elided: int
    barriers_forced: int
    concurrent_groups: int
    replays: int
    capturing: bool
    profiling: bool
    gpu_ns: int
    eager: bool
    parts: int


@dataclass(frozen=True)
class GraphInfo:
    """A captured graph: its nodes (dispatches, copies, fills), barriers and
    the sizes of the buffer slots it uses (the first 64)."""
    graph: int
    nodes: int
    dispatches: int
    barriers: int
    n_slots: int
    slot_sizes: Tuple[int, ...]

    @classmethod
    def _from(cls, c: _lib.GraphInfo) -> "GraphInfo":
        return from_c(cls, c, slot_sizes=tuple(c.slot_sizes[:min(c.n_slots, _lib.GRAPH_INFO_SLOTS)]))


@dataclass(frozen=True)
class TimedCommandBuffer:
    """A profiled command buffer: its stage label, command count and GPU times."""
    serial: int
    label: str
    commands: int
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class TimedCommand:
    """A profiled command: its kernel (or copy, fill, replay) and GPU times."""
    command_buffer: int
    index: int
    name: str
    stage: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class Profile:
    """GPU times of a profiled session's command buffers and commands."""
    session: str
    timestamp_period: float
    valid_bits: int
    gpu_ns: int
    dropped: int
    untimed: int
    command_buffers: Tuple[TimedCommandBuffer, ...]
    commands: Tuple[TimedCommand, ...]

    @classmethod
    def _from(cls, c: _lib.Profile) -> "Profile":
        cbs = tuple(from_c(TimedCommandBuffer, c.command_buffers[i]) for i in range(c.n_command_buffers))
        cmds = tuple(from_c(TimedCommand, c.commands[i], stage=(c.commands[i].stage or b"").decode(errors="replace"))
                     for i in range(c.n_commands))
        return from_c(cls, c, command_buffers=cbs, commands=cmds)
