"""The C library, loaded with ctypes: finding libgpucmd.so, and the structs
and prototypes of client/gpucmd.h mirrored field for field.

Nothing here is public. The layouts must match the header exactly; the test
suite compiles a C program that prints every struct's size and field
offsets and compares them with these (tests/test_abi.py), so a change to
gpucmd.h that is not made here too fails there rather than in a user's
process.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_int, c_int32, c_size_t,
                    c_uint8, c_uint32, c_uint64, c_void_p)
from typing import List, Optional

SONAME = "libgpucmd.so.0"

MAX_HEAPS = 16
MAX_QUEUE_FAMILIES = 16
MAX_BINDINGS = 16
GRAPH_INFO_SLOTS = 64
BUFFER_HOST_VISIBLE = 1
SESSION_EAGER = 1
DISPATCH_BARRIER_BEFORE = 1


class Heap(Structure):
    _fields_ = [("size", c_uint64), ("device_local", c_bool), ("budget", c_uint64), ("usage", c_uint64),
                ("allocated", c_uint64), ("used", c_uint64)]


class QueueFamily(Structure):
    _fields_ = [("index", c_uint32), ("count", c_uint32), ("flags", c_uint32)]


class Info(Structure):
    _fields_ = [("daemon_version", c_char * 32), ("protocol_version", c_uint32), ("device_name", c_char * 256),
                ("vendor_id", c_uint32), ("device_id", c_uint32), ("device_type", c_char * 32),
                ("driver_name", c_char * 256), ("driver_info", c_char * 256), ("api_version", c_char * 32),
                ("n_queue_families", c_uint32), ("queue_families", QueueFamily * MAX_QUEUE_FAMILIES),
                ("queue_family", c_uint32), ("n_heaps", c_uint32), ("heaps", Heap * MAX_HEAPS),
                ("validation", c_bool), ("validation_messages", c_uint64), ("clients", c_uint32),
                ("live_buffers", c_uint32), ("live_sessions", c_uint32), ("submissions", c_uint64),
                ("dispatches", c_uint64), ("barriers", c_uint64), ("barriers_elided", c_uint64),
                ("concurrent_groups", c_uint64), ("gpu_ns", c_uint64), ("timestamp_valid_bits", c_uint32),
                ("timestamp_period", c_double), ("max_frame", c_uint32), ("max_buffer_size", c_uint64),
                ("max_groups", c_uint32 * 3), ("storage_offset_alignment", c_uint32),
                ("shared_alignment", c_uint64), ("reply_poll_us", c_uint32)]


class KernelBinding(Structure):
    _fields_ = [("binding", c_uint32), ("read_only", c_bool), ("write_only", c_bool), ("min_size", c_uint32)]


class KernelInfo(Structure):
    _fields_ = [("id", c_uint32), ("name", c_char * 64), ("n_bindings", c_uint32),
                ("bindings", KernelBinding * MAX_BINDINGS), ("push_size", c_uint32), ("local_size", c_uint32 * 3),
                ("client", c_bool), ("entry_point", c_char * 64), ("variant", c_char * 32)]


class Binding(Structure):
    _fields_ = [("buffer", c_uint32), ("offset", c_uint64), ("size", c_uint64)]


class MemoryUsage(Structure):
    _fields_ = [("client", c_uint32), ("pid", c_int32), ("uid", c_uint32), ("name", c_char * 64),
                ("bytes", c_uint64), ("buffers", c_uint64), ("peak", c_uint64), ("resident_buffers", c_uint64),
                ("resident_bytes", c_uint64), ("limit", c_uint64), ("gpu_ns", c_uint64)]


class MemoryReport(Structure):
    _fields_ = [("n_heaps", c_uint32), ("heaps", Heap * MAX_HEAPS), ("self", MemoryUsage), ("user", MemoryUsage),
                ("n_clients", c_size_t), ("clients", POINTER(MemoryUsage)), ("device_allocations", c_uint32),
                ("max_allocations", c_uint32), ("live_buffers", c_uint32), ("resident_buffers", c_uint32),
                ("kept_allocations", c_uint32), ("kept_bytes", c_uint64), ("reused_allocations", c_uint64)]


class SessionState(Structure):
    _fields_ = [("drained", c_bool), ("fence_pending", c_bool), ("has_event", c_bool), ("fence_value", c_uint64),
                ("wait_value", c_uint64), ("wait_count", c_uint64), ("last_label", c_char * 128),
                ("syncs", c_uint64), ("dispatches", c_uint64), ("command_buffers", c_uint64),
                ("barriers", c_uint64), ("completed", c_uint64), ("residency_requests", c_uint64),
                ("residency_pending", c_uint32), ("submit_order", c_uint64), ("barriers_elided", c_uint64),
                ("barriers_forced", c_uint64), ("concurrent_groups", c_uint64), ("replays", c_uint64),
                ("capturing", c_bool), ("profiling", c_bool), ("gpu_ns", c_uint64), ("eager", c_bool),
                ("parts", c_uint64)]


class SessionStatus(Structure):
    _fields_ = [("session", c_uint32), ("label", c_char * 64), ("priority", c_int), ("in_flight", c_uint32),
                ("command_buffers", c_uint64), ("dispatches", c_uint64), ("completed", c_uint64),
                ("fence_value", c_uint64), ("gpu_ns", c_uint64)]


class ClientStatus(Structure):
    _fields_ = [("client", c_uint32), ("pid", c_int32), ("uid", c_uint32), ("gid", c_uint32), ("name", c_char * 64),
                ("comm", c_char * 16), ("connected_ms", c_uint64), ("in_flight", c_uint32), ("stalled", c_bool),
                ("fence_waiters", c_uint32), ("memory", MemoryUsage), ("n_sessions", c_size_t), ("sessions", POINTER(SessionStatus)),
                ("command_buffers", c_uint64), ("dispatches", c_uint64), ("gpu_util", c_uint32),
                ("shard", c_uint32)]


class PriorityStatus(Structure):
    _fields_ = [("sessions", c_uint32), ("stages", c_uint64), ("round_trips", c_uint64),
                ("rtt_median_us", c_uint32), ("rtt_p99_us", c_uint32)]


class Status(Structure):
    _fields_ = [("daemon_version", c_char * 32), ("device_name", c_char * 256), ("uptime_ms", c_uint64),
                ("n_heaps", c_uint32), ("heaps", Heap * MAX_HEAPS), ("clients", c_uint32),
                ("live_sessions", c_uint32), ("live_buffers", c_uint32), ("submissions", c_uint64),
                ("dispatches", c_uint64), ("max_inflight_per_client", c_uint32), ("device_losses", c_uint32),
                ("n_clients", c_size_t), ("client_list", POINTER(ClientStatus)), ("self", c_uint32),
                ("connections", c_uint64), ("priorities", PriorityStatus * 3), ("high_queue", c_bool),
                ("bulk_kept_back", c_uint64), ("round_trip_queue", c_bool), ("round_trip_stages", c_uint64),
                ("loop_cpu_ns", c_uint64), ("retire_cpu_ns", c_uint64), ("shards", c_uint32),
                ("parks", c_uint64), ("parked_us", c_uint64)]


class Token(Structure):
    _fields_ = [("bytes", c_uint8 * 16)]


class GraphInfo(Structure):
    _fields_ = [("graph", c_uint32), ("nodes", c_uint32), ("dispatches", c_uint32), ("barriers", c_uint32),
                ("n_slots", c_uint32), ("slot_sizes", c_uint64 * GRAPH_INFO_SLOTS)]


class GraphPush(Structure):
    _fields_ = [("node", c_uint32), ("data", c_void_p), ("size", c_uint32)]


class GraphRebind(Structure):
    _fields_ = [("slot", c_uint32), ("buffer", c_uint32)]


class GpuTimes(Structure):
    _fields_ = [("start_ns", c_uint64), ("end_ns", c_uint64)]


class TimedCommandBuffer(Structure):
    _fields_ = [("serial", c_uint64), ("label", c_char * 128), ("commands", c_uint32), ("start_ns", c_uint64),
                ("end_ns", c_uint64)]


class TimedCommand(Structure):
    _fields_ = [("command_buffer", c_uint64), ("index", c_uint32), ("name", c_char * 64), ("stage", c_char_p),
                ("start_ns", c_uint64), ("end_ns", c_uint64)]


class Profile(Structure):
    _fields_ = [("session", c_char * 64), ("timestamp_period", c_double), ("valid_bits", c_uint32),
                ("gpu_ns", c_uint64), ("dropped", c_uint64), ("untimed", c_uint64), ("n_command_buffers", c_uint32),
                ("n_commands", c_uint32), ("command_buffers", POINTER(TimedCommandBuffer)),
                ("commands", POINTER(TimedCommand))]


# Every struct above, by its name in gpucmd.h (for the layout test).
C_NAMES = {Heap: "struct gpucmd_heap", Info: "struct gpucmd_info", KernelInfo: "struct gpucmd_kernel_info",
           Binding: "struct gpucmd_binding", MemoryUsage: "struct gpucmd_memory_usage",
           MemoryReport: "struct gpucmd_memory_report", SessionState: "struct gpucmd_session_state",
           SessionStatus: "struct gpucmd_session_status", ClientStatus: "struct gpucmd_client_status",
           Status: "struct gpucmd_status", Token: "gpucmd_token", GraphInfo: "struct gpucmd_graph_info",
           GraphPush: "struct gpucmd_graph_push", GraphRebind: "struct gpucmd_graph_rebind",
           GpuTimes: "struct gpucmd_gpu_times", TimedCommandBuffer: "struct gpucmd_timed_command_buffer",
           TimedCommand: "struct gpucmd_timed_command", Profile: "struct gpucmd_profile"}

_P = c_void_p  # gpucmd_client *
_U = c_uint32  # a handle
_PROTOTYPES = {
    "gpucmd_connect": (_P, [c_char_p]),
    "gpucmd_connect_priority": (_P, [c_char_p, c_int]),
    "gpucmd_disconnect": (None, [_P]),
    "gpucmd_last_error": (c_char_p, [_P]),
    "gpucmd_strerror": (c_char_p, [c_int]),
    "gpucmd_socket_path": (c_char_p, [_P]),
    "gpucmd_default_socket": (c_int, [c_char_p, c_size_t]),
    "gpucmd_flush": (c_int, [_P]),
    "gpucmd_info": (c_int, [_P, POINTER(Info)]),
    "gpucmd_ping": (c_int, [_P]),
    "gpucmd_kernel_find": (c_int, [_P, c_char_p, POINTER(KernelInfo)]),
    "gpucmd_kernel_list": (c_int, [_P, POINTER(POINTER(KernelInfo)), POINTER(c_size_t)]),
    "gpucmd_kernel_register": (c_int, [_P, c_char_p, c_char_p, c_size_t, POINTER(KernelInfo)]),
    "gpucmd_kernel_unregister": (c_int, [_P, _U]),
    "gpucmd_buffer_create": (c_int, [_P, c_uint64, c_uint32, POINTER(_U)]),
    "gpucmd_buffer_write": (c_int, [_P, _U, c_uint64, c_void_p, c_size_t]),
    "gpucmd_buffer_read": (c_int, [_P, _U, c_uint64, c_void_p, c_size_t]),
    "gpucmd_buffer_create_shared": (c_int, [_P, c_uint64, POINTER(_U), POINTER(c_void_p), POINTER(c_bool)]),
    "gpucmd_buffer_free": (c_int, [_P, _U]),
    "gpucmd_memory_report": (c_int, [_P, POINTER(MemoryReport)]),
    "gpucmd_session_open_flags": (c_int, [_P, c_char_p, c_int, c_uint32, POINTER(_U)]),
    "gpucmd_session_close": (c_int, [_P, _U]),
    "gpucmd_begin_stage": (c_int, [_P, _U, c_char_p]),
    "gpucmd_dispatch_flags": (c_int, [_P, _U, _U, POINTER(Binding), c_uint32, c_char_p, c_uint32, c_uint32,
                                      c_uint32, c_uint32, c_uint32]),
    "gpucmd_commit_stage": (c_int, [_P, _U]),
    "gpucmd_commit_and_wait": (c_int, [_P, _U]),
    "gpucmd_fence_stage": (c_int, [_P, _U, c_char_p]),
    "gpucmd_reset_for_next_stage": (c_int, [_P, _U]),
    "gpucmd_buffer_copy": (c_int, [_P, _U, _U, c_uint64, _U, c_uint64, c_uint64]),
    "gpucmd_buffer_fill": (c_int, [_P, _U, _U, c_uint64, c_uint64, c_uint32]),
    "gpucmd_residency_add": (c_int, [_P, _U, _U]),
    "gpucmd_residency_remove": (c_int, [_P, _U, _U]),
    "gpucmd_session_query": (c_int, [_P, _U, POINTER(SessionState)]),
    "gpucmd_status": (c_int, [_P, POINTER(Status)]),
    "gpucmd_status_free": (None, [POINTER(Status)]),
    "gpucmd_fence_export": (c_int, [_P, _U, POINTER(Token)]),
    "gpucmd_wait_fence": (c_int, [_P, _U, POINTER(Token), c_uint64]),
    "gpucmd_fence_wait": (c_int, [_P, POINTER(Token), c_uint64, c_uint32]),
    "gpucmd_fence_fd": (c_int, [_P, POINTER(Token), c_uint64, POINTER(c_int)]),
    "gpucmd_buffer_export": (c_int, [_P, _U, POINTER(Token)]),
    "gpucmd_buffer_import": (c_int, [_P, POINTER(Token), POINTER(_U)]),
    "gpucmd_capture_begin": (c_int, [_P, _U]),
    "gpucmd_capture_end": (c_int, [_P, _U, POINTER(_U), POINTER(GraphInfo)]),
    "gpucmd_graph_replay": (c_int, [_P, _U, _U, POINTER(GraphPush), c_uint32, POINTER(GraphRebind), c_uint32]),
    "gpucmd_graph_free": (c_int, [_P, _U]),
    "gpucmd_graph_export": (c_int, [_P, _U, POINTER(Token)]),
    "gpucmd_graph_import": (c_int, [_P, POINTER(Token), POINTER(_U), POINTER(GraphInfo)]),
    "gpucmd_profile": (c_int, [_P, _U, c_bool]),
    "gpucmd_commit_and_wait_timed": (c_int, [_P, _U, POINTER(GpuTimes)]),
    "gpucmd_profile_fetch": (c_int, [_P, _U, c_char_p, c_bool, POINTER(Profile)]),
    "gpucmd_profile_free": (None, [POINTER(Profile)]),
}


# Calls on the per-dispatch path, also called without argtypes (_conn.py);
# every argument of theirs is a handle, a count, a pointer or bytes.
FAST = ("gpucmd_dispatch_flags", "gpucmd_commit_stage", "gpucmd_commit_and_wait", "gpucmd_reset_for_next_stage")


class LibraryNotFound(ImportError):
    """libgpucmd could not be loaded; the message lists every place tried."""


def _candidates() -> List[str]:
    """Where libgpucmd is looked for, in order: $GPUCMD_LIBRARY (a path to
    the .so, for tests and uninstalled builds), then the dynamic linker's
    own search for the soname (LD_LIBRARY_PATH, the ld.so cache, the
    system directories: what a C program linked with -lgpucmd finds), then
    the libdir pkg-config names for gpucmd (an install whose directory is
    not in the linker's cache yet, e.g. /usr/local/lib before ldconfig)."""
    found = []
    env = os.environ.get("GPUCMD_LIBRARY")
    if env:
        return [env]
    found.append(SONAME)
    if shutil.which("pkg-config"):
        try:
            libdir = subprocess.run(["pkg-config", "--variable=libdir", "gpucmd"], capture_output=True, text=True,
                                    timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            libdir = ""
        if libdir:
            found.append(os.path.join(libdir, SONAME))
    return found


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def load() -> ctypes.CDLL:
    """Loads libgpucmd and declares every function; raises LibraryNotFound
    naming each place tried and why it failed."""
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
            continue
        try:
            return _declare(lib)
        except AttributeError as e:
            tried.append(f"{path}: too old for this package ({e})")
    how = "$GPUCMD_LIBRARY" if os.environ.get("GPUCMD_LIBRARY") else (
        "the dynamic linker's search for " + SONAME + " and pkg-config's libdir for gpucmd")
    raise LibraryNotFound("gpucmd: cannot load the C library libgpucmd through " + how + ":\n  " +
                          "\n  ".join(tried) + "\nInstall gpucmd (make install; then ldconfig), add its lib directory "
                          "to LD_LIBRARY_PATH, or set GPUCMD_LIBRARY to the path of libgpucmd.so.")


_lib: Optional[ctypes.CDLL] = None


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, so that importing gpucmd
    never fails)."""
    global _lib
    if _lib is None:
        _lib = load()
    return _lib
