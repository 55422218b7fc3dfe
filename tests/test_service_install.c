/*
 * test_service_install.c — checks a `make install DESTDIR=` tree, named by
 * GPUCMD_STAGE (PREFIX in GPUCMD_PREFIX): systemd-analyze verify accepts
 * every unit without a word, the security exposure stays low, and the
 * README's example program, built with `pkg-config --cflags --libs gpucmd`
 * from the tree with PKG_CONFIG_PATH alone (the .pc file is relocatable),
 * runs against a daemon; the library exports gpucmd_* only; uninstall
 * removes all but the configuration; an installed `gpucmd bench` refuses
 * with a reason.
 *
 * systemd-analyze verify checks that ExecStart= exists, so it runs with
 * --root at the staged tree, into which this test copies the distribution's
 * units (for sysinit.target and the like) and /usr/bin/kill (ExecReload=).
 * It cannot combine --root with --user, so user units are verified both as
 * system units under --root and in --user mode from a copy whose ExecStart=
 * names the staged binary.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char root[512], prefix[256];

/* A directory of this test's own, removed at teardown. */
static const char *scratch(void)
{
	if (!test_daemon.dir[0]) {
		snprintf(test_daemon.dir, sizeof(test_daemon.dir), "/tmp/gpucmd-test.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(test_daemon.dir));
	}
	return test_daemon.dir;
}

static void stage_setup(void)
{
	snprintf(root, sizeof(root), "%s", getenv("GPUCMD_STAGE"));
	const char *p = getenv("GPUCMD_PREFIX");
	snprintf(prefix, sizeof(prefix), "%s", p && *p ? p : "/usr/local");
	char out[4096];
	int r = sh_run(out, sizeof(out),
		    "set -e; cd %s; mkdir -p usr/lib/systemd usr/bin; [ -d usr/lib/systemd/system ] || "
		    "cp -a /usr/lib/systemd/system usr/lib/systemd/; cp /usr/bin/kill usr/bin/kill; "
		    "[ -e bin ] || ln -s usr/bin bin",
		    root);
	ck_assert_msg(r == 0, "cannot prepare %s: %s", root, out);
}

static void verify(const char *args)
{
	char out[8192];
	int r = sh_run(out, sizeof(out), "systemd-analyze verify --man=no --generators=no %s", args);
	ck_assert_msg(r == 0 && out[0] == '\0', "systemd-analyze verify %s: status %d:\n%s", args, r, out);
}

START_TEST(every_unit_passes_systemd_analyze_verify)
{
	char args[2048];
	const char *system_units[] = {"gpucmdd.service", "gpucmdd.socket", "gpucmdd@0.service", "gpucmdd@0.socket",
				      "gpucmdd@6d657361-3232-2e33-2e36-000000000000.service", "gpucmd-exporter.service",
				      "gpucmd-exporter.socket"};
	for (size_t i = 0; i < sizeof(system_units) / sizeof(system_units[0]); i++) {
		snprintf(args, sizeof(args), "--root=%s %s", root, system_units[i]);
		verify(args);
	}
	snprintf(args, sizeof(args), "--root=%s %s/lib/systemd/user/gpucmdd.service %s/lib/systemd/user/gpucmdd.socket",
		 root, prefix, prefix);
	verify(args);

	char dir[] = "/tmp/gpucmd-user.XXXXXX", out[4096];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(sh_run(out, sizeof(out),
			     "mkdir -p %s/units %s/run && sed 's|^ExecStart=%s|ExecStart=%s%s|' %s%s/lib/systemd/user/gpucmdd.service "
			     "> %s/units/gpucmdd.service && cp %s%s/lib/systemd/user/gpucmdd.socket %s/units/",
			     dir, dir, prefix, root, prefix, root, prefix, dir, root, prefix, dir),
			 0);
	snprintf(args, sizeof(args), "--user %s/units/gpucmdd.service %s/units/gpucmdd.socket", dir, dir);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	strcat(dir, "/run");
	verify(args);
	sh_run(out, sizeof(out), "rm -rf %.*s", (int)(strlen(dir) - 4), dir);
}
END_TEST

/* Records the figure in the test log and keeps it from creeping up. */
START_TEST(security_exposure_of_the_service_is_at_most_1_5)
{
	char out[16384];
	const char *units[] = {"gpucmdd.service", "gpucmdd@0.service", "gpucmd-exporter.service"};
	for (int i = 0; i < 3; i++) {
		int r = sh_run(out, sizeof(out), "systemd-analyze security --offline=yes --no-pager --root=%s %s | tail -1",
			    root, units[i]);
		const char *level = strstr(out, "Overall exposure level for");
		ck_assert_msg(r == 0 && level, "systemd-analyze security: %s", out);
		double score = atof(strchr(level, ':') + 1);
		fprintf(stderr, "systemd-analyze security %s: %.1f\n", units[i], score);
		ck_assert_msg(score <= 1.5, "%s exposure %.1f: %s", units[i], score, level);
	}
}
END_TEST

START_TEST(readme_example_built_with_pkg_config_from_the_staged_tree_runs)
{
	daemon_start(NULL);
	char out[8192], exe[64];
	snprintf(exe, sizeof(exe), "%s/example", test_daemon.dir);
	int r = sh_run(out, sizeof(out), "sed -n '/^```c$/,/^```$/p' README.md | sed '1d;$d' > %s.c && test -s %s.c", exe,
		    exe);
	ck_assert_msg(r == 0, "no C example in README.md:\n%s", out);
	r = sh_run(out, sizeof(out),
		"PKG_CONFIG_PATH=%s%s/lib/pkgconfig; export PKG_CONFIG_PATH; "
		"cc -std=c17 -Wall -Werror %s.c -o %s $(pkg-config --cflags --libs gpucmd)",
		root, prefix, exe, exe);
	ck_assert_msg(r == 0, "build failed:\n%s", out);
	r = sh_run(out, sizeof(out), "readelf -d %s | grep -c 'NEEDED.*libgpucmd.so.0'", exe);
	ck_assert_msg(r == 0, "the program does not load libgpucmd.so.0 by its soname:\n%s", out);
	r = sh_run(out, sizeof(out), "LD_LIBRARY_PATH=%s%s/lib GPUCMD_SOCKET=%s %s", root, prefix, test_daemon.socket, exe);
	ck_assert_msg(r == 0, "the program failed (%d):\n%s", r, out);
}
END_TEST

START_TEST(library_exports_only_the_gpucmd_api)
{
	char out[16384];
	int r = sh_run(out, sizeof(out), "nm -D --defined-only %s%s/lib/libgpucmd.so | awk '{print $3}' | "
		    "grep -v '^gpucmd_[a-z0-9]'", root, prefix);
	ck_assert_msg(r == 1 && out[0] == '\0', "libgpucmd.so exports more than gpucmd_*:\n%s", out);
	r = sh_run(out, sizeof(out), "nm -D --defined-only %s%s/lib/libgpucmd.so | grep -c ' T gpucmd_'", root, prefix);
	ck_assert_msg(r == 0 && atoi(out) > 40, "too few gpucmd_ functions exported: %s", out);
	r = sh_run(out, sizeof(out), "nm -D --defined-only %s%s/lib/libgpucmd.so | grep -q ' T gpucmd_version$'", root,
		prefix);
	ck_assert_msg(r == 0, "gpucmd_version is not exported");
}
END_TEST

START_TEST(uninstall_leaves_only_the_administrators_configuration)
{
	char out[8192], dest[128];
	snprintf(dest, sizeof(dest), "%s/inst", scratch());
	const char *b = build_dir();
	int r = sh_run(out, sizeof(out), "make -s B=%s install DESTDIR=%s && make -s B=%s uninstall DESTDIR=%s", b, dest,
		    b, dest);
	ck_assert_msg(r == 0, "install/uninstall failed:\n%s", out);
	ck_assert_msg(strstr(out, "kept"), "uninstall does not say it kept the configuration:\n%s", out);
	r = sh_run(out, sizeof(out), "cd %s && find . -type f -o -type l", dest);
	ck_assert_msg(r == 0 && !strcmp(out, "./etc/gpucmd/gpucmdd.conf\n"), "left after uninstall:\n%s", out);
}
END_TEST

START_TEST(installed_gpucmd_bench_refuses_with_a_reason)
{
	char out[4096];
	int r = sh_run(out, sizeof(out), "%s%s/bin/gpucmd bench %s/bench-out", root, prefix, scratch());
	ck_assert_msg(r == 1 && strstr(out, "not installed") && strstr(out, "make bench"), "%d: %s", r, out);
	r = sh_run(out, sizeof(out), "%s%s/bin/gpucmd --version", root, prefix);
	ck_assert_msg(r == 0 && strstr(out, GPUCMD_VERSION), "%d: %s", r, out);
}
END_TEST

START_TEST(man_pages_are_installed_render_cleanly_and_cover_every_key)
{
	char out[16384];
	static const char *const pages[] = {"man1/gpucmd.1", "man3/libgpucmd.3", "man5/gpucmdd.conf.5",
					    "man8/gpucmdd.8"};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		int r = sh_run(out, sizeof(out), "groff -man -ww -z %s%s/share/man/%s", root, prefix, pages[i]);
		ck_assert_msg(r == 0 && out[0] == '\0', "%s: %s", pages[i], out);
	}
	/* One entry per key of the table, as --check-config lists them. */
	int r = sh_run(out, sizeof(out), "grep -c '^\\.BI ' %s%s/share/man/man5/gpucmdd.conf.5", root, prefix);
	int in_man = atoi(out);
	r |= sh_run(out, sizeof(out), "%s%s/bin/gpucmdd --check-config --config /dev/null | grep -c '^#\\?[a-z_]* ='",
		 root, prefix);
	ck_assert_msg(r == 0 && in_man == atoi(out) && in_man >= 30, "gpucmdd.conf(5) has %d keys of %s", in_man, out);
	r = sh_run(out, sizeof(out), "man -l %s%s/share/man/man1/gpucmd.1 | grep -c 'status \\[--json'", root, prefix);
	ck_assert_msg(r == 0, "gpucmd(1) lacks the commands: %s", out);
}
END_TEST

START_TEST(bash_completion_offers_each_commands_options)
{
	char out[4096];
	int r = sh_run(out, sizeof(out), "bash -c 'source %s%s/share/bash-completion/completions/gpucmd; "
		    "COMP_WORDS=(gpucmd --socket /x status --); COMP_CWORD=4; _gpucmd; echo \"${COMPREPLY[*]}\"'",
		    root, prefix);
	ck_assert_msg(r == 0 && strstr(out, "--prometheus") && !strstr(out, "--session"), "%s", out);
}
END_TEST

TCase *install_tcase(void)
{
	TCase *t = tcase_create("install");
	tcase_add_checked_fixture(t, stage_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, every_unit_passes_systemd_analyze_verify);
	tcase_add_test(t, security_exposure_of_the_service_is_at_most_1_5);
	tcase_add_test(t, readme_example_built_with_pkg_config_from_the_staged_tree_runs);
	tcase_add_test(t, library_exports_only_the_gpucmd_api);
	tcase_add_test(t, uninstall_leaves_only_the_administrators_configuration);
	tcase_add_test(t, installed_gpucmd_bench_refuses_with_a_reason);
	tcase_add_test(t, man_pages_are_installed_render_cleanly_and_cover_every_key);
	tcase_add_test(t, bash_completion_offers_each_commands_options);
	return t;
}
