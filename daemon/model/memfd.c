/*
 * memfd.c — checking and mapping client memfds (see memfd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/core.h"
#include "device/gpu.h"
#include "model/memfd.h"

uint64_t gd_memfd_alignment(const struct gd_core *d)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t dev = d->proc->gpu->host_import_alignment;
	return dev > page ? dev : page;
}

int gd_memfd_map(const struct gd_core *d, int fd, uint64_t size, struct gd_shm *ret, char *err, size_t errlen)
{
	const uint64_t align = gd_memfd_alignment(d);
	const int need = F_SEAL_SHRINK | F_SEAL_GROW;
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		snprintf(err, errlen, "the file descriptor is not a memfd that can be sealed (%s)", strerror(errno));
		return -EBADF;
	}
	if ((seals & need) != need) {
		snprintf(err, errlen, "the memfd is not sealed against shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW)");
		return -EPERM;
	}
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		snprintf(err, errlen, "the memfd is sealed against writing; the GPU must be able to write it");
		return -EPERM;
	}
	struct stat st;
	if (size == 0 || size > UINT64_MAX - align || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "shared buffer size %" PRIu64 " is zero or too large", size);
		return -EINVAL;
	}
	uint64_t len = (size + align - 1) / align * align;
	if ((uint64_t)st.st_size < len) {
		snprintf(err, errlen, "the memfd holds %" PRIu64 " bytes; %" PRIu64 " are needed (%" PRIu64
			 " rounded up to %" PRIu64 ")", (uint64_t)st.st_size, len, size, align);
		return -EINVAL;
	}
	/* Reserve enough to place the mapping at an aligned address, then map
	 * the memfd over the aligned part. */
	size_t base_len = len + align;
	uint8_t *base = mmap(NULL, base_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "reserving %" PRIu64 " bytes of address space failed: %s", len, strerror(errno));
		return -ENOMEM;
	}
	uint8_t *ptr = (uint8_t *)(((uintptr_t)base + align - 1) / align * align);
	if (mmap(ptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int e = errno;
		munmap(base, base_len);
		snprintf(err, errlen, "mapping the memfd failed: %s", strerror(e));
		return -e;
	}
	*ret = (struct gd_shm){.ptr = ptr, .len = len, .base = base, .base_len = base_len};
	return 0;
}

void gd_memfd_unmap(struct gd_shm *shm)
{
	if (shm->base)
		munmap(shm->base, shm->base_len);
	*shm = (struct gd_shm){0};
}
