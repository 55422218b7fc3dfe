"""Exceptions: every negative code a libgpucmd call returns becomes one of
these, carrying the code and the library's message for it (the daemon's
words where the daemon refused: "dispatch of kernel 'add_f32': 2 buffers
bound, the kernel takes 3").

    Error                      any failure of gpucmd
      ProtocolError            GPUCMD_E_PROTOCOL: the peer broke the wire protocol
      VersionError             GPUCMD_E_VERSION: protocol versions differ
      DeviceLostError          GPUCMD_E_DEVICE_LOST: the GPU was lost running work
      VulkanError              GPUCMD_E_VULKAN: a Vulkan call failed in the daemon
      DisconnectedError        GPUCMD_E_DISCONNECTED: the daemon closed the connection
        ConnectError           connect() failed (also a ConnectionError)
      FenceAbandonedError      GPUCMD_E_FENCE_ABANDONED: the fence's session closed first
      ErrnoError (OSError)     a -errno code; .errno is the positive value
        InvalidArgumentError   EINVAL, ERANGE (also a ValueError)
        NotFoundError          ENOENT, ENODEV (also a LookupError)
        AlreadyExistsError     EEXIST
        OutOfMemoryError       ENOMEM
        TooBigError            E2BIG, EMSGSIZE
        LimitError             EMFILE, ENOSPC, EDQUOT, EUSERS, EAGAIN
        AccessDeniedError      EPERM, EACCES (also a PermissionError)
        WaitTimeoutError       ETIMEDOUT (also a TimeoutError)
        BusyError              EBUSY
        NotSupportedError      ENOTSUP
"""
from __future__ import annotations

import errno as _errno
import os
from typing import Dict, Type

E_PROTOCOL = -1000
E_VERSION = -1001
E_DEVICE_LOST = -1002
E_VULKAN = -1003
E_DISCONNECTED = -1004
E_FENCE_ABANDONED = -1005


class Error(Exception):
    """A gpucmd call failed. `code` is the library's negative code,
    `message` what went wrong in words."""

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        Exception.__init__(self, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable: a pool can send it back to its parent
        return (type(self), (self.code, self.message))


class ProtocolError(Error):
    """GPUCMD_E_PROTOCOL: the peer broke the wire protocol."""


class VersionError(Error):
    """GPUCMD_E_VERSION: the daemon speaks another protocol version."""


class DeviceLostError(Error):
    """GPUCMD_E_DEVICE_LOST: the GPU was lost while running this work."""


class VulkanError(Error):
    """GPUCMD_E_VULKAN: a Vulkan call failed in the daemon."""


class DisconnectedError(Error):
    """GPUCMD_E_DISCONNECTED: the daemon closed the connection (or this
    client was closed)."""


class ConnectError(DisconnectedError, ConnectionError):
    """gpucmd.connect() could not reach the daemon or finish the handshake
    (the message names the socket and the reason)."""

    def __init__(self, code: int, message: str) -> None:
        Error.__init__(self, code, message)


class FenceAbandonedError(Error):
    """GPUCMD_E_FENCE_ABANDONED: the fence's session closed before the
    value was signalled; it never will be."""


class ErrnoError(Error, OSError):
    """A -errno code from the library or the daemon; `errno` is positive."""

    def __init__(self, code: int, message: str) -> None:
        Error.__init__(self, code, message)
        self.errno = -code
        self.strerror = message


class InvalidArgumentError(ErrnoError, ValueError):
    """EINVAL, ERANGE: an argument the daemon or the library refused."""


class NotFoundError(ErrnoError, LookupError):
    """ENOENT, ENODEV: no such kernel, buffer, session, token or socket."""


class AlreadyExistsError(ErrnoError):
    """EEXIST: a kernel of that name already exists."""


class OutOfMemoryError(ErrnoError):
    """ENOMEM: the daemon or the device ran out of memory."""


class TooBigError(ErrnoError):
    """E2BIG, EMSGSIZE: over a size limit."""


class LimitError(ErrnoError):
    """EMFILE, ENOSPC, EDQUOT, EUSERS, EAGAIN: a configured limit or quota."""


class AccessDeniedError(ErrnoError, PermissionError):
    """EPERM, EACCES: the daemon does not allow this."""


class WaitTimeoutError(ErrnoError, TimeoutError):
    """ETIMEDOUT: a wait ran out of time."""


class BusyError(ErrnoError):
    """EBUSY: the object is in use (e.g. a commit_and_wait already waits)."""


class NotSupportedError(ErrnoError):
    """ENOTSUP: the device or the daemon cannot do this."""


_BY_CODE: Dict[int, Type[Error]] = {
    E_PROTOCOL: ProtocolError, E_VERSION: VersionError, E_DEVICE_LOST: DeviceLostError, E_VULKAN: VulkanError,
    E_DISCONNECTED: DisconnectedError, E_FENCE_ABANDONED: FenceAbandonedError,
}
for _cls, _names in ((InvalidArgumentError, "EINVAL ERANGE"), (NotFoundError, "ENOENT ENODEV"),
                     (AlreadyExistsError, "EEXIST"), (OutOfMemoryError, "ENOMEM"), (TooBigError, "E2BIG EMSGSIZE"),
                     (LimitError, "EMFILE ENOSPC EDQUOT EUSERS EAGAIN"), (AccessDeniedError, "EPERM EACCES"),
                     (WaitTimeoutError, "ETIMEDOUT"), (BusyError, "EBUSY"), (NotSupportedError, "ENOTSUP")):
    for _n in _names.split():
        _BY_CODE[-getattr(_errno, _n)] = _cls


def error_class(code: int) -> Type[Error]:
    """The exception class for a negative code."""
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls
    return ErrnoError if -code in _errno.errorcode else Error


def make_error(code: int, message: str) -> Error:
    """The exception for `code`; an empty message becomes the code's text."""
    if not message:
        message = os.strerror(-code) if -code in _errno.errorcode else f"gpucmd error {code}"
    return error_class(code)(code, message)
