/*
 * test_range.c — the first-fit offset allocator inside memory blocks
 * (daemon/range.c), on its own: alignment, splitting, merging on free in
 * every order, exhaustion, and a randomized run checked against a bitmap.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/range.h"

START_TEST(aligned_allocations_split_and_merge_back)
{
	struct gd_ranges r;
	ck_assert_int_eq(gd_ranges_init(&r, 1024), 0);
	uint64_t a, b, c;
	ck_assert_int_eq(gd_ranges_alloc(&r, 10, 1, &a), 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_int_eq(gd_ranges_alloc(&r, 100, 256, &b), 0);
	ck_assert_uint_eq(b, 256);                 /* padding [10, 256) stays free */
	ck_assert_int_eq(gd_ranges_alloc(&r, 200, 8, &c), 0);
	ck_assert_uint_eq(c, 16);                  /* first fit: inside the padding */
	ck_assert_uint_eq(r.used, 310);
	ck_assert_int_eq(gd_ranges_free(&r, b, 100), 0);
	ck_assert_int_eq(gd_ranges_free(&r, a, 10), 0);
	ck_assert_int_eq(gd_ranges_free(&r, c, 200), 0);
	ck_assert_uint_eq(r.n, 1);                 /* everything merged again */
	ck_assert_uint_eq(r.free[0].offset, 0);
	ck_assert_uint_eq(r.free[0].size, 1024);
	ck_assert_uint_eq(r.used, 0);
	gd_ranges_finish(&r);
}
END_TEST

START_TEST(exhaustion_is_enospc_and_exact_fit_works)
{
	struct gd_ranges r;
	ck_assert_int_eq(gd_ranges_init(&r, 4096), 0);
	uint64_t o[4], x;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(gd_ranges_alloc(&r, 1024, 1024, &o[i]), 0);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_int_eq(gd_ranges_alloc(&r, 1, 1, &x), -ENOSPC);
	ck_assert_int_eq(gd_ranges_free(&r, o[2], 1024), 0);
	ck_assert_int_eq(gd_ranges_alloc(&r, 1025, 1, &x), -ENOSPC);
	ck_assert_int_eq(gd_ranges_alloc(&r, 1024, 1024, &x), 0);
	ck_assert_uint_eq(x, o[2]);
	ck_assert_int_eq(gd_ranges_alloc(&r, 0, 1, &x), -ENOSPC);
	ck_assert_int_eq(gd_ranges_alloc(&r, UINT64_MAX, 1, &x), -ENOSPC);
	gd_ranges_finish(&r);
}
END_TEST

/* Thousands of random allocations and frees, every byte owned at most once,
 * the free list sorted and never adjacent, and all of it back at the end. */
START_TEST(random_allocations_never_overlap)
{
	enum { SIZE = 1 << 16, LIVE = 300 };
	struct gd_ranges r;
	ck_assert_int_eq(gd_ranges_init(&r, SIZE), 0);
	static uint8_t owner[SIZE];
	memset(owner, 0, sizeof(owner));
	struct { uint64_t off, size; } live[LIVE] = {{0}};
	srand(1234);
	for (int step = 0; step < 20000; step++) {
		int k = rand() % LIVE;
		if (live[k].size) {
			ck_assert_int_eq(gd_ranges_free(&r, live[k].off, live[k].size), 0);
			memset(owner + live[k].off, 0, live[k].size);
			live[k].size = 0;
			continue;
		}
		uint64_t size = 1 + (uint64_t)(rand() % 700), align = 1ull << (rand() % 9), off;
		if (gd_ranges_alloc(&r, size, align, &off) != 0)
			continue;
		ck_assert_uint_eq(off % align, 0);
		ck_assert_uint_le(off + size, SIZE);
		ck_assert_msg(memchr(owner + off, 1, size) == NULL, "[%llu, +%llu) overlaps a live range",
			      (unsigned long long)off, (unsigned long long)size);
		memset(owner + off, 1, size);
		live[k].off = off;
		live[k].size = size;
		bool sorted = true;
		for (uint32_t i = 1; i < r.n; i++)
			sorted &= r.free[i - 1].offset + r.free[i - 1].size < r.free[i].offset;
		ck_assert_msg(sorted, "free list unsorted or adjacent at step %d", step);
	}
	for (int k = 0; k < LIVE; k++)
		if (live[k].size)
			ck_assert_int_eq(gd_ranges_free(&r, live[k].off, live[k].size), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.free[0].size, SIZE);
	ck_assert_uint_eq(r.used, 0);
	gd_ranges_finish(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("range");
	TCase *t = tcase_create("range");
	tcase_add_test(t, aligned_allocations_split_and_merge_back);
	tcase_add_test(t, exhaustion_is_enospc_and_exact_fit_works);
	tcase_add_test(t, random_allocations_never_overlap);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
