# gpucmd — builds the daemon, the client library, the CLI, the kernels and
# the tests. `make run` and `make test` install missing dependencies first.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
DOCDIR ?= $(DATADIR)/doc/gpucmd
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The issue and the units name /etc/gpucmd/gpucmdd.conf, whatever PREFIX is.
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
CC ?= cc
B := build
VERSION := $(shell sed -n 's/^\#define GPUCMD_VERSION "\(.*\)"/\1/p' proto/gpucmd_defs.h)
SOVERSION := 0

PKGS := vulkan libuv libprotobuf-c spirv-cross-c-shared libsystemd inih
# The gpucmd command only: its JSON output; the exporter's HTTP.
CLI_PKGS := json-c
EXPORTER_PKGS := libmicrohttpd libsystemd
OPT ?= -O2 -g
# make test builds on every core whatever -j it was given.
NPROC := $(shell nproc 2>/dev/null || echo 2)
CFLAGS += $(OPT) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wvla -Wno-unused-parameter -fPIC \
	  -I$(B)/gen -Iproto -Iclient -Idaemon $(SAN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(CLI_PKGS) $(EXPORTER_PKGS) check 2>/dev/null)
# SPIRV-Tools ships as static C++ libraries on Debian: the validator, and
# the optimizer's specialization passes (daemon/device/spirv_opt.cpp, the one C++
# file), with the C++ runtime they need.
SPIRV_TOOLS_LIBS := -lSPIRV-Tools-opt -lSPIRV-Tools -lstdc++ -lm
CXXFLAGS += $(OPT) -std=c++17 -Wall -Wextra -Wno-unused-parameter -fPIC -Idaemon $(SAN)
LDFLAGS += $(SAN)

PROTO_SRC := $(B)/gen/gpucmd.pb-c.c
PROTO_OBJ := $(B)/obj/gen/gpucmd.pb-c.o $(B)/obj/proto/wire.o
DAEMON_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(wildcard daemon/*/*.c)) $(B)/obj/daemon/device/spirv_opt.o
LIB_OBJ := $(patsubst %,$(B)/obj/client/%.o,connection transport buffers sessions kernels fences graphs profile \
	status trace)
CLI_OBJ := $(B)/obj/client/cli.o $(B)/obj/client/cli_status.o $(B)/obj/client/cli_text.o \
	$(B)/obj/client/prometheus.o
KERNELS := $(patsubst kernels/%.comp,$(B)/kernels/%.spv,$(wildcard kernels/*.comp)) \
	$(patsubst kernels/coopmat2/%.spv,$(B)/kernels/%.spv,$(wildcard kernels/coopmat2/*.spv))
TESTS := $(B)/tests/test_wire $(B)/tests/test_range $(B)/tests/test_daemon $(B)/tests/test_service
BENCH_SPV := $(B)/bench/fma_f32.spv $(B)/bench/l2_read_f32.spv $(B)/bench/stage_noop.spv $(B)/bench/peak_mma_f16.spv $(B)/bench/peak_mma_f16+coopmat_nv.spv \
	$(B)/bench/peak_mma_wg_f16.spv $(B)/bench/peak_mma_wg_f16+coopmat2_nv.spv
BENCH_BIN := $(B)/bench-inproc $(B)/bench-gpucmd $(B)/bench-kernels $(B)/bench-memstall $(B)/bench-pipeline-stats $(B)/bench-submit-threads \
	     $(B)/bench-stage-rate \
	     $(BENCH_SPV)
UNITS := $(B)/systemd/gpucmdd.service $(B)/systemd/gpucmdd@.service $(B)/systemd/user/gpucmdd.service \
	 $(B)/systemd/gpucmd-exporter.service \
	 $(B)/gpucmd.pc
# SPIR-V modules the tests send as client kernels, good and hostile.
TEST_SPV := $(patsubst tests/spirv/%.comp,$(B)/tests/spirv/%.spv,$(wildcard tests/spirv/*.comp)) \
	$(patsubst tests/spirv/%.vert,$(B)/tests/spirv/%.spv,$(wildcard tests/spirv/*.vert)) \
	$(patsubst tests/spirv/%.spvasm,$(B)/tests/spirv/%.spv,$(wildcard tests/spirv/*.spvasm))

MAN := $(B)/man/gpucmd.1 $(B)/man/libgpucmd.3 $(B)/man/gpucmdd.conf.5 $(B)/man/gpucmdd.8
MANDIR ?= $(DATADIR)/man
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions

.PHONY: all deps run test clean install uninstall bench FORCE
all: $(B)/gpucmdd $(B)/gpucmd $(B)/gpucmd-exporter $(B)/libgpucmd.so $(B)/libgpucmd.a $(KERNELS) $(UNITS) $(MAN)

deps:
	@scripts/install-deps

$(B)/gen/gpucmd.pb-c.c $(B)/gen/gpucmd.pb-c.h: proto/gpucmd.proto
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen --proto_path=proto $<

# Install paths compiled into the daemon; rewritten only when they change,
# so that `make install PREFIX=...` rebuilds what depends on them.
$(B)/gen/paths.h: FORCE
	@mkdir -p $(B)/gen
	@printf '#define GPUCMD_KERNEL_DIR "%s"\n#define GPUCMD_SYSCONFDIR "%s"\n' \
		'$(DATADIR)/gpucmd/kernels' '$(SYSCONFDIR)' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
$(B)/obj/daemon/service/config.o: $(B)/gen/paths.h

$(B)/obj/%.o: %.c $(B)/gen/gpucmd.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(B)/gpucmdd: $(DAEMON_OBJ) $(PROTO_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(shell pkg-config --libs $(PKGS)) $(SPIRV_TOOLS_LIBS) -lpthread

# Only the gpucmd_* API is exported (client/libgpucmd.map); protobuf-c and
# the wire code inside stay private.
$(B)/libgpucmd.so: $(LIB_OBJ) $(PROTO_OBJ) client/libgpucmd.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libgpucmd.so.$(SOVERSION) -Wl,--version-script=client/libgpucmd.map \
		$(filter %.o,$^) -o $@.$(SOVERSION) $(shell pkg-config --libs libprotobuf-c)
	ln -sf libgpucmd.so.$(SOVERSION) $@

$(B)/libgpucmd.a: $(LIB_OBJ) $(PROTO_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/gpucmd: $(CLI_OBJ) $(B)/libgpucmd.a
	$(CC) $(LDFLAGS) $^ -o $@ $(shell pkg-config --libs libprotobuf-c $(CLI_PKGS))

# The manual pages, generated from the --help texts, the key table and
# gpucmd.h (scripts/gen-man), so that they cannot drift from the programs.
$(MAN) &: scripts/gen-man $(B)/gpucmd $(B)/gpucmdd client/gpucmd.h
	@mkdir -p $(B)/man
	/usr/bin/python3 scripts/gen-man $(B) $(B)/man $(VERSION)

$(B)/gpucmd-exporter: $(B)/obj/client/exporter.o $(B)/obj/client/prometheus.o $(B)/obj/client/cli_text.o \
		$(B)/libgpucmd.a
	$(CC) $(LDFLAGS) $^ -o $@ $(shell pkg-config --libs libprotobuf-c $(CLI_PKGS) $(EXPORTER_PKGS)) -lpthread

$(B)/kernels/%.spv: kernels/%.comp $(wildcard kernels/*.glsl)
	@mkdir -p $(B)/kernels
	glslc --target-env=vulkan1.3 -O $< -o $@

# Built with a newer glslang than the distribution's and committed
# (kernels/coopmat2/README, scripts/build-coopmat2).
$(B)/kernels/%.spv: kernels/coopmat2/%.spv
	@mkdir -p $(B)/kernels
	cp $< $@

$(B)/tests/test_wire: tests/test_wire.c $(PROTO_OBJ)
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $^ -o $@ $(LDFLAGS) $(shell pkg-config --libs check libprotobuf-c)

$(B)/tests/test_range: tests/test_range.c daemon/base/range.c
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $^ -o $@ $(LDFLAGS) $(shell pkg-config --libs check)

$(B)/tests/spirv/%.spv: tests/spirv/%.comp
	@mkdir -p $(B)/tests/spirv
	glslc --target-env=vulkan1.3 -O $< -o $@

# Kernels as projects that target Vulkan 1.1 build them: the workgroup size
# set by constants comes as a WorkgroupSize built-in, not LocalSizeId.
$(B)/tests/spirv/%_vk11.spv: tests/spirv/%_vk11.comp
	@mkdir -p $(B)/tests/spirv
	glslc --target-env=vulkan1.1 -O $< -o $@

# What GLSL cannot say yet, written as SPIR-V assembly.
$(B)/tests/spirv/%.spv: tests/spirv/%.spvasm
	@mkdir -p $(B)/tests/spirv
	spirv-as --target-env vulkan1.3 $< -o $@

$(B)/tests/spirv/%.spv: tests/spirv/%.vert
	@mkdir -p $(B)/tests/spirv
	glslc --target-env=vulkan1.3 -O $< -o $@

# Test builds only: gpucmdd with fault injection compiled in
# (GPUCMD_FAULT_DEVICE_LOST, GPUCMD_FAULT_COMPLETION_ONLY_HIGH, completion.c;
# GPUCMD_FAULT_INBOX_DELAY_MS, inbox.c), beside kernels that only tests
# load (one never ends). Neither is installed.
TEST_KERNELS := $(patsubst $(B)/kernels/%,$(B)/tests/kernels/%,$(KERNELS)) \
	$(patsubst tests/kernels/%.comp,$(B)/tests/kernels/%.spv,$(wildcard tests/kernels/*.comp))
FAULT_SRC := daemon/submit/completion.c daemon/net/inbox.c
$(B)/obj/fault/%.o: daemon/%.c $(B)/gen/gpucmd.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -DGPUCMD_FAULT_INJECTION -MMD -MP -c $< -o $@
$(B)/tests/gpucmdd-faults: $(filter-out $(patsubst %.c,$(B)/obj/%.o,$(FAULT_SRC)),$(DAEMON_OBJ)) \
		$(patsubst daemon/%.c,$(B)/obj/fault/%.o,$(FAULT_SRC)) $(PROTO_OBJ)
	@mkdir -p $(B)/tests
	$(CC) $(LDFLAGS) $^ -o $@ $(shell pkg-config --libs $(PKGS)) $(SPIRV_TOOLS_LIBS) -lpthread
$(B)/tests/kernels/%.spv: $(B)/kernels/%.spv
	@mkdir -p $(B)/tests/kernels
	cp $< $@
$(B)/tests/kernels/%.spv: tests/kernels/%.comp
	@mkdir -p $(B)/tests/kernels
	glslc --target-env=vulkan1.3 -O $< -o $@

$(B)/tests/test_daemon: $(wildcard tests/test_daemon*.c) tests/harness.c $(B)/libgpucmd.a $(TEST_SPV) \
		| $(B)/tests/gpucmdd-faults $(TEST_KERNELS)
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests $(filter %.c,$^) $(B)/libgpucmd.a -o $@ $(LDFLAGS) \
		$(shell pkg-config --libs check libprotobuf-c)

$(B)/tests/test_service: $(wildcard tests/test_service*.c) tests/harness.c $(B)/libgpucmd.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itests $(filter %.c,$^) $(B)/libgpucmd.a -o $@ $(LDFLAGS) \
		$(shell pkg-config --libs check libprotobuf-c)

# Units, pkg-config file: the install paths filled in.
SUBST = sed -e 's|@bindir@|$(BINDIR)|g' -e 's|@docdir@|$(DOCDIR)|g' -e 's|@prefix@|$(PREFIX)|g' \
	-e 's|@libdir@|$(LIBDIR)|g' -e 's|@includedir@|$(INCLUDEDIR)|g' -e 's|@version@|$(VERSION)|g'
$(B)/systemd/%: systemd/%.in $(B)/gen/paths.h
	@mkdir -p $(dir $@)
	$(SUBST) $< > $@
# The .pc file finds its tree from where it lies (${pcfiledir}), so a
# staged or moved install works with PKG_CONFIG_PATH alone.
REL = $(shell realpath -m --relative-to=$(PKGCONFIGDIR) $(1))
$(B)/gpucmd.pc: data/gpucmd.pc.in $(B)/gen/paths.h Makefile
	sed -e 's|@prefix@|$${pcfiledir}/$(call REL,$(PREFIX))|g' -e 's|@libdir@|$${pcfiledir}/$(call REL,$(LIBDIR))|g' \
		-e 's|@includedir@|$${pcfiledir}/$(call REL,$(INCLUDEDIR))|g' -e 's|@version@|$(VERSION)|g' $< > $@

# Packages first, then the build, also under make -j.
run: deps
	$(MAKE) all
	exec $(B)/gpucmdd $(ARGS)

# First the daemon's shape (scripts/check-layers: no upward include or call,
# no loop, no file over 700 lines or function over 80). The service tests
# check the units and the pkg-config file of a staged install, so
# `make test` stages one in $(B)/stage. Last, the benchmark
# suite runs shortened through `gpucmd bench`: it fails unless every
# benchmark ran, both sides computed what the CPU expects and its daemon
# exited 0 (the figures themselves mean nothing on lavapipe), the
# one-daemon-per-GPU driver runs two daemons sharing the one device, and
# the kernel sweep driver times and checks a build of matmul_f32.
test: deps
	$(MAKE) -j$(NPROC) all $(TESTS) $(BENCH_BIN) $(TEST_SPV)
	scripts/check-layers --self-test $(B)
	scripts/check-layers $(B)
	$(B)/tests/test_wire
	$(B)/tests/test_range
	GPUCMD_BUILD=$(B) $(B)/tests/test_daemon
	rm -rf $(B)/stage && $(MAKE) -s install DESTDIR=$(CURDIR)/$(B)/stage
	GPUCMD_BUILD=$(B) GPUCMD_STAGE=$(CURDIR)/$(B)/stage GPUCMD_PREFIX=$(PREFIX) $(B)/tests/test_service
	$(MAKE) -s test-python
	rm -rf $(B)/bench-smoke && BENCH_QUICK=1 $(B)/gpucmd bench $(B)/bench-smoke
	rm -rf $(B)/multigpu-smoke && GPUCMD_BUILD=$(CURDIR)/$(B) DEVICES="0 0" SHARE=1 PROCS=4 SECONDS_EACH=0.25 \
		FLOOD=2 ITERS=50 bench/run-multigpu $(B)/multigpu-smoke
	VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation $(B)/bench-stage-rate --seconds 0.2 --spv $(B)/bench/stage_noop.spv >$(B)/stage-rate-smoke.json \
		2>$(B)/stage-rate-smoke.err && test ! -s $(B)/stage-rate-smoke.err && test $$(wc -l <$(B)/stage-rate-smoke.json) = 1 && \
		grep -q '"bulk_alone_per_s":[1-9].*"round_trips_alone_per_s":[1-9]' $(B)/stage-rate-smoke.json
	VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation $(B)/bench-stage-rate --seconds 0.2 --hold 2 --rate 2000 \
		>$(B)/stage-rate-smoke.json 2>$(B)/stage-rate-smoke.err && test ! -s $(B)/stage-rate-smoke.err && \
		python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["hold"] == 2 and 0 < d["bulk_alone_per_s"] <= 2100, d' \
		$(B)/stage-rate-smoke.json
	VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation $(B)/bench-submit-threads --n 500 >$(B)/submit-threads-smoke.json \
		2>$(B)/submit-threads-smoke.err && test ! -s $(B)/submit-threads-smoke.err && test $$(wc -l <$(B)/submit-threads-smoke.json) = 1 && \
		grep -q '"alone_ns":{"min":[1-9]' $(B)/submit-threads-smoke.json
	rm -rf $(B)/ab-smoke && BENCH_QUICK=1 BENCH_SLOW_US=1000000 bench/run-ab $(B)/ab-smoke 1 a=$(B)/gpucmdd \
		"b=$(B)/gpucmdd:--bulk-depth-high 0" >$(B)/ab-smoke.txt && test $$(wc -l <$(B)/ab-smoke/ab.jsonl) = 2 && \
		grep -q '^b | 0 | 1 (0) |' $(B)/ab-smoke.txt
	rm -rf $(B)/sweep-smoke && mkdir -p $(B)/sweep-smoke && cp $(B)/kernels/matmul_f32.spv '$(B)/sweep-smoke/matmul_f32@built.spv' && \
		MATMUL_SIZE=129,65,33 bench/run-matmul-sweep $(B)/sweep-smoke/out '$(B)/sweep-smoke/matmul_f32@built.spv' >/dev/null

# The Python package's tests (python/tests, pytest) against this build's
# daemon and library. Debian's python3 is the one scripts/install-deps gives
# NumPy and pytest to, whatever python3 comes first in PATH.
PYTHON ?= /usr/bin/python3
.PHONY: test-python
test-python: all $(TEST_SPV)
	cd python && GPUCMD_BUILD=$(CURDIR)/$(B) GPUCMD_PREFIX=$(PREFIX) $(PYTHON) -m pytest -q -p no:cacheprovider tests

# DESTDIR stages the tree (packaging, tests). An existing configuration
# file is kept: it is the administrator's.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(DATADIR)/gpucmd/kernels $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/gpucmd \
		$(DESTDIR)$(SYSTEMDDIR)/system $(DESTDIR)$(SYSTEMDDIR)/user $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(B)/gpucmdd $(B)/gpucmd $(B)/gpucmd-exporter $(DESTDIR)$(BINDIR)/
	install -m 755 $(B)/libgpucmd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libgpucmd.so.$(VERSION)
	ln -sf libgpucmd.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libgpucmd.so.$(SOVERSION)
	ln -sf libgpucmd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libgpucmd.so
	install -m 644 $(B)/libgpucmd.a $(DESTDIR)$(LIBDIR)/
	install -m 644 client/gpucmd.h proto/gpucmd_defs.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(B)/gpucmd.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 $(KERNELS) $(DESTDIR)$(DATADIR)/gpucmd/kernels/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 $(B)/systemd/gpucmdd.service $(B)/systemd/gpucmdd@.service systemd/gpucmdd.socket \
		systemd/gpucmdd@.socket $(B)/systemd/gpucmd-exporter.service systemd/gpucmd-exporter.socket \
		$(DESTDIR)$(SYSTEMDDIR)/system/
	install -m 644 $(B)/systemd/user/gpucmdd.service systemd/user/gpucmdd.socket $(DESTDIR)$(SYSTEMDDIR)/user/
	install -m 644 systemd/gpucmd.sysusers $(DESTDIR)$(SYSUSERSDIR)/gpucmd.conf
	install -m 644 systemd/gpucmd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/gpucmd.conf
	install -d $(addprefix $(DESTDIR)$(MANDIR)/man,1 3 5 8) $(DESTDIR)$(COMPLETIONDIR)
	for m in $(MAN); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -m 644 data/gpucmd.bash $(DESTDIR)$(COMPLETIONDIR)/gpucmd
	[ -e $(DESTDIR)$(SYSCONFDIR)/gpucmd/gpucmdd.conf ] || \
		sed 's|^#kernels = .*|#kernels = $(DATADIR)/gpucmd/kernels|' data/gpucmdd.conf \
		> $(DESTDIR)$(SYSCONFDIR)/gpucmd/gpucmdd.conf

# Removes what install put there, with the same PREFIX and DESTDIR. The
# configuration file stays: it is the administrator's.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gpucmdd $(DESTDIR)$(BINDIR)/gpucmd $(DESTDIR)$(BINDIR)/gpucmd-exporter \
		$(DESTDIR)$(LIBDIR)/libgpucmd.so \
		$(DESTDIR)$(LIBDIR)/libgpucmd.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libgpucmd.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/libgpucmd.a $(DESTDIR)$(INCLUDEDIR)/gpucmd.h $(DESTDIR)$(INCLUDEDIR)/gpucmd_defs.h \
		$(DESTDIR)$(PKGCONFIGDIR)/gpucmd.pc \
		$(DESTDIR)$(SYSUSERSDIR)/gpucmd.conf $(DESTDIR)$(TMPFILESDIR)/gpucmd.conf
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDDIR)/system/,gpucmdd.service gpucmdd@.service gpucmdd.socket gpucmdd@.socket \
		gpucmd-exporter.service gpucmd-exporter.socket) \
		$(addprefix $(DESTDIR)$(SYSTEMDDIR)/user/,gpucmdd.service gpucmdd.socket)
	rm -f $(DESTDIR)$(MANDIR)/man1/gpucmd.1 $(DESTDIR)$(MANDIR)/man3/libgpucmd.3 \
		$(DESTDIR)$(MANDIR)/man5/gpucmdd.conf.5 $(DESTDIR)$(MANDIR)/man8/gpucmdd.8 $(DESTDIR)$(COMPLETIONDIR)/gpucmd
	rm -rf $(DESTDIR)$(DATADIR)/gpucmd $(DESTDIR)$(DOCDIR)
	@[ ! -e $(DESTDIR)$(SYSCONFDIR)/gpucmd/gpucmdd.conf ] || \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/gpucmd/gpucmdd.conf (remove it by hand if it is no longer wanted)"

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# libFuzzer harnesses (clang). FUZZ_SECONDS bounds each run; CI keeps it short.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I$(B)/gen -Iproto
$(B)/fuzz/fuzz_frames: tests/fuzz/fuzz_frames.c proto/wire.c $(PROTO_SRC)
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) $^ -o $@ $(shell pkg-config --cflags --libs libprotobuf-c)

# Client SPIR-V through validation, reflection and the limit checks, seeded
# with every module the build makes.
$(B)/fuzz/spirv_opt.o: daemon/device/spirv_opt.cpp
	@mkdir -p $(B)/fuzz
	clang++ $(FUZZ_CFLAGS) -std=c++17 -Idaemon -c $< -o $@

# Linked as C++: the optimizer's object needs the C++ sanitizer runtime.
$(B)/fuzz/fuzz_spirv: tests/fuzz/fuzz_spirv.c daemon/device/spirv.c daemon/device/spirv_caps.c daemon/device/spirv_tools.c \
		daemon/device/spirv_folds.c $(B)/fuzz/spirv_opt.o
	@mkdir -p $(B)/fuzz
	clang++ $(FUZZ_CFLAGS) -D_GNU_SOURCE -Idaemon $(shell pkg-config --cflags spirv-cross-c-shared) \
		-x c $(filter %.c,$^) -x none $(filter %.o,$^) -o $@ \
		$(shell pkg-config --libs spirv-cross-c-shared) $(SPIRV_TOOLS_LIBS)

.PHONY: fuzz
fuzz: $(B)/fuzz/fuzz_frames $(B)/fuzz/fuzz_spirv $(KERNELS) $(TEST_SPV)
	@mkdir -p $(B)/fuzz/corpus && cp -n tests/fuzz/corpus/frames/* $(B)/fuzz/corpus/
	$(B)/fuzz/fuzz_frames -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/fuzz/corpus
	@mkdir -p $(B)/fuzz/spirv-corpus && cp -n $(KERNELS) $(TEST_SPV) $(B)/fuzz/spirv-corpus/
	$(B)/fuzz/fuzz_spirv -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 $(B)/fuzz/spirv-corpus

# ---- benchmarks (bench/) ----------------------------------------------------
# `make bench` runs the suite on this machine (BENCH_QUICK=1 shortens it);
# `make bench-bundle` gathers the binaries, kernels and bench/run-bench in
# bundle/ to run elsewhere: bundle/run-bench OUTDIR.
.PHONY: bench-bundle

$(B)/bench-inproc: bench/inproc.c
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(shell pkg-config --cflags --libs vulkan) -lm

$(B)/bench-memstall: bench/memstall.c bench/fail.h bench/stats.h bench/vkdev.h
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(shell pkg-config --libs vulkan) -lpthread -lm

$(B)/bench-pipeline-stats: bench/pipeline_stats.c bench/fail.h bench/stats.h
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(shell pkg-config --libs vulkan)

$(B)/bench-submit-threads: bench/submit_threads.c bench/fail.h bench/stats.h bench/vkdev.h
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(shell pkg-config --libs vulkan) -lpthread

$(B)/bench-stage-rate: bench/stage_rate.c bench/fail.h bench/stats.h bench/vkdev.h
	$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) $(shell pkg-config --libs vulkan) -lpthread

$(B)/bench-gpucmd: bench/client.c bench/fail.h bench/stats.h client/gpucmd.h proto/gpucmd_defs.h $(B)/libgpucmd.a
	$(CC) $(CFLAGS) $< $(B)/libgpucmd.a -o $@ $(LDFLAGS) $(shell pkg-config --libs libprotobuf-c) -lm

$(B)/bench-kernels: bench/kernels.c bench/fail.h bench/stats.h client/gpucmd.h proto/gpucmd_defs.h $(B)/libgpucmd.a
	$(CC) $(CFLAGS) $< $(B)/libgpucmd.a -o $@ $(LDFLAGS) $(shell pkg-config --libs libprotobuf-c) -lm

# The kernels bench-kernels measures the FP32 and the tensor-core FP16 peaks
# with: the FMA one registered as a client kernel, peak_mma_f16 a standard
# kernel of the bundle only (cooperative matrices do not pass a client
# module's reflection).
$(B)/bench/%.spv: bench/%.comp
	@mkdir -p $(B)/bench
	glslc --target-env=vulkan1.3 -O $< -o $@

# The workgroup-matrix peak (committed like kernels/coopmat2/) and its
# portable twin, which has peak_mma_f16's interface and does its nothing.
$(B)/bench/%.spv: bench/coopmat2/%.spv
	@mkdir -p $(B)/bench
	cp $< $@

$(B)/bench/peak_mma_wg_f16.spv: $(B)/bench/peak_mma_f16.spv
	cp $< $@

bench: all $(BENCH_BIN)
	bench/run-bench $(B)/bench-out

bench-bundle: all $(BENCH_BIN)
	rm -rf bundle
	mkdir -p bundle/kernels
	cp $(B)/gpucmdd $(B)/gpucmd $(filter-out $(B)/bench/peak_%,$(BENCH_BIN)) bench/run-bench bench/run-ab bench/run-multigpu bench/run-matmul-sweep \
		bench/bench-python $(B)/libgpucmd.so.0 bundle/
	cp $(KERNELS) $(B)/bench/peak_mma_*.spv bundle/kernels/
	mkdir -p bundle/python/gpucmd && cp python/gpucmd/*.py bundle/python/gpucmd/
	c=$$(git rev-parse HEAD 2>/dev/null || echo unknown); \
		git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c > bundle/COMMIT

# `make plots` redraws docs/img/*.png from a run's raw rows (needs matplotlib).
.PHONY: plots
RAW ?= bench/results/h200-2026-12-01-raw.jsonl
plots:
	bench/plot $(RAW) docs/img

# Whether this machine's Vulkan driver lets gpucmdd run under
# MemoryDenyWriteExecute=yes (docs/CONFIG.md has the figures measured so far).
.PHONY: check-mdwe
$(B)/mdwe_exec: tests/mdwe_exec.c
	$(CC) $(CFLAGS) $< -o $@
check-mdwe: all $(B)/mdwe_exec
	scripts/check-mdwe $(B) $(ARGS)

# The whole suite against AddressSanitizer + UBSan builds of the daemon and
# the library, with the tcases' time limits (which catch hangs) four times
# as long. The test processes run with LeakSanitizer (tests/lsan.supp
# names what the Vulkan loader keeps). The daemon runs without it: lavapipe
# and the validation layer are unloaded before exit and leave allocations
# LSan cannot attribute; the daemon's own exit check (no live buffer or
# session, no undestroyed Vulkan object reported by the validation layer)
# covers its leaks, and ASan still catches every use-after-free.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
.PHONY: test-asan
test-asan: deps
	$(MAKE) B=build-asan SAN="$(ASAN_FLAGS)" OPT="-O1 -g" all build-asan/tests/test_wire \
		build-asan/tests/test_range build-asan/tests/test_daemon build-asan/tests/test_service
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		build-asan/tests/test_wire
	ASAN_OPTIONS=detect_leaks=1 build-asan/tests/test_range
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp CK_TIMEOUT_MULTIPLIER=4 \
		GPUCMD_DAEMON_ASAN_OPTIONS=detect_leaks=0 GPUCMD_BUILD=build-asan build-asan/tests/test_daemon
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		GPUCMD_DAEMON_ASAN_OPTIONS=detect_leaks=0 GPUCMD_BUILD=build-asan build-asan/tests/test_service

# The daemon and libgpucmd built with ThreadSanitizer, and the daemon tests
# run against it: a data race or a lock-order inversion in gpucmdd makes it
# exit 66 and the test that started it fail. tests/tsan.supp leaves out
# what the Vulkan validation layer reports about itself; GPUCMD_TSAN widens
# the tests' bounds on time and resident memory (harness.h, under_tsan).
.PHONY: test-tsan
test-tsan: deps
	$(MAKE) B=build-tsan SAN=-fsanitize=thread OPT="-O1 -g" all build-tsan/tests/test_daemon
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" GPUCMD_TSAN=1 GPUCMD_BUILD=build-tsan CK_TIMEOUT_MULTIPLIER=4 \
		build-tsan/tests/test_daemon
