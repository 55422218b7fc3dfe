/*
 * gpucmd_defs.h — the constants both ends of the wire share: the protocol
 * and release versions, the error codes a reply's status carries, the flag
 * bits and enumerations requests carry, and the limits the daemon enforces
 * and the library sizes its structs by. gpucmdd includes this header alone;
 * libgpucmd's API (gpucmd.h) includes it, and it is installed beside it.
 * Only macros and enums: nothing here links.
 */
#ifndef GPUCMD_DEFS_H
#define GPUCMD_DEFS_H

/* The Hello handshake's version; a daemon refuses any other with
 * GPUCMD_E_VERSION (docs/PROTOCOL.md says what each version changed). */
#define GPUCMD_PROTOCOL_VERSION 2
/* The release these declarations belong to; gpucmd_version() is the one of
 * the library actually loaded (both "MAJOR.MINOR.PATCH"). The Makefile
 * reads it from here. */
#define GPUCMD_VERSION "0.1.0"

/* ---- error codes ------------------------------------------------------ */

/* Error codes of our own, beside negative errno values. */
enum {
	GPUCMD_E_PROTOCOL = -1000,     /* the peer broke the wire protocol */
	GPUCMD_E_VERSION = -1001,      /* protocol versions do not match */
	GPUCMD_E_DEVICE_LOST = -1002,  /* the GPU was lost while running work */
	GPUCMD_E_VULKAN = -1003,       /* a Vulkan call failed in the daemon (not sent by gpucmdd: it
					* reports a failed call by its kind, -ENOMEM, -ENOTSUP, -EMFILE,
					* -EIO or GPUCMD_E_DEVICE_LOST, with the VkResult's name) */
	GPUCMD_E_DISCONNECTED = -1004, /* the daemon closed the connection */
	GPUCMD_E_FENCE_ABANDONED = -1005, /* the fence's session closed before the value */
};

/* ---- flags and enumerations requests carry ----------------------------- */

/* BufferCreate.flags. */
enum {
	GPUCMD_BUFFER_HOST_VISIBLE = 1u << 0, /* ask for CPU-mappable memory */
};

/* SessionOpen.priority: the order in which work that became ready together
 * goes to the GPU. */
enum gpucmd_priority {
	GPUCMD_PRIORITY_NORMAL = 0,
	GPUCMD_PRIORITY_HIGH = 1,
	GPUCMD_PRIORITY_LOW = 2,
};

/*
 * SessionOpen.flags.
 *
 * GPUCMD_SESSION_EAGER: the daemon may start a stage's commands before its
 * commit. Once a stage holds a few dozen commands it submits them as a part
 * and goes on recording, so a long stream runs on the GPU while it is still
 * being sent (docs/SESSIONS.md). Commit still ends the stage: its fence,
 * commit_and_wait and errors mean what they always do. What changes: a
 * command counts as submitted work from the moment it is streamed, so
 * gpucmd_buffer_read / _write wait for it, a shared buffer's mapping must
 * not be touched after streaming a command that uses it, and a
 * gpucmd_wait_fence holds back only the commands streamed after it (and
 * any not yet submitted).
 */
#define GPUCMD_SESSION_EAGER (1u << 0)

/* Dispatch.flags: a barrier before this dispatch even where no range
 * conflicts: for a kernel whose accesses reflection cannot see (e.g. timing
 * a kernel alone). */
#define GPUCMD_DISPATCH_BARRIER_BEFORE 1u

/* SpecConstant.type: the type of a specialization constant's value; it must
 * match the constant the module declares (bool, or integer / float of that
 * width; an integer's signedness does not matter). */
enum gpucmd_spec_type {
	GPUCMD_SPEC_BOOL = 1,
	GPUCMD_SPEC_INT8, GPUCMD_SPEC_UINT8, GPUCMD_SPEC_INT16, GPUCMD_SPEC_UINT16, GPUCMD_SPEC_FLOAT16,
	GPUCMD_SPEC_INT32, GPUCMD_SPEC_UINT32, GPUCMD_SPEC_FLOAT32,
	GPUCMD_SPEC_INT64, GPUCMD_SPEC_UINT64, GPUCMD_SPEC_FLOAT64,
};

/* ---- limits ------------------------------------------------------------ */

/* Buffers one kernel takes (slots), counting each element of an array of
 * buffers; so also the bindings of one Dispatch. */
#define GPUCMD_MAX_BINDINGS 16
/* The largest binding number a kernel may declare: drivers size a set
 * layout by its largest binding, so a hostile 2^31 would cost gigabytes. */
#define GPUCMD_MAX_BINDING_NUMBER 1023
/* Specialization constants one KernelRegister may set. */
#define GPUCMD_MAX_SPEC_CONSTANTS 64
/* Bytes of SPIR-V one KernelRegister may carry. */
#define GPUCMD_MAX_SPIRV_SIZE (1u << 20)
/* The most kernels one connection may have registered at a time (the
 * ceiling of the max_kernels_per_client setting). */
#define GPUCMD_MAX_CLIENT_KERNELS 64
/* Bytes of a token (a capability naming a fence, buffer or graph). */
#define GPUCMD_TOKEN_BYTES 16
/* Push constants have no fixed limit: a kernel takes exactly its block's
 * size (gpucmd_kernel_info.push_size), at most the device's
 * maxPushConstantsSize. */

#endif
