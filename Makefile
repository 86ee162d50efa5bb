# pvcnoded: build, test and demo.
#
#   make            build/pvcnoded (supervisor), one program per worker role
#                   (build/pvc-zk-election, pvc-vm-manager, pvc-net-router, pvc-flush,
#                   pvc-fence, pvc-api-units, pvc-dns-aggregator), build/pvcctl, build/pvc-dhcp-lease
#   make check      install missing Debian packages, unit + integration tests
#   make check-qemu real libvirtd + QEMU nodes: lifecycle, live migration (tests/qemu/)
#   make demo       local 3-node cluster with its own ZooKeeper (Ctrl-C or make demo-stop)
#   make install DESTDIR=... PREFIX=/usr
#
# Each program links only the libraries of its role (-Wl,--as-needed drops the rest),
# so a worker maps libzookeeper, libvirt or libnftables only where it is used.

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
LIBEXECDIR ?= $(PREFIX)/lib/pvc

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CFLAGS ?= -O2 -g
INCLUDES := -Iinclude -Ilib -Iipc -Iworkers/common
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) $(INCLUDES) -I/usr/include/zookeeper \
	-I/usr/include/postgresql \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	-DPVC_LIBEXECDIR='"$(LIBEXECDIR)"'
LIBVIRT_CFLAGS := $(shell pkg-config --cflags libvirt 2>/dev/null)
LIBVIRT_LIBS := $(shell pkg-config --libs libvirt 2>/dev/null || echo -lvirt)
CFLAGS += $(LIBVIRT_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(EXTRA_LDFLAGS)

# What each program links beyond libc.
SANDBOX_LIBS := -lseccomp -lcap
LIBS_supervisor := -lyaml -lcap
LIBS_zk := -lzookeeper_st $(SANDBOX_LIBS)
LIBS_vm := $(LIBVIRT_LIBS) $(SANDBOX_LIBS)
LIBS_net := -lnftables $(SANDBOX_LIBS)
LIBS_flush := $(SANDBOX_LIBS)
LIBS_fence := $(SANDBOX_LIBS)
LIBS_api := $(SANDBOX_LIBS)
LIBS_ceph := -lrados -lrbd -lpthread $(SANDBOX_LIBS)
# the metadata API: HTTP server and PostgreSQL client (README, "Dependencies")
LIBS_meta := -lmicrohttpd -lpq $(SANDBOX_LIBS)
# the DNS aggregator: PostgreSQL client (it also runs pdns_server)
LIBS_dns := -lpq $(SANDBOX_LIBS)
ALL_LIBS := -lzookeeper_st $(LIBVIRT_LIBS) -lyaml -lcap -lseccomp -lnftables -lrados -lrbd -lpthread -lmicrohttpd -lpq -lm

ROLES := zk vm net flush fence api ceph meta dns
PROG_zk := pvc-zk-election
PROG_vm := pvc-vm-manager
PROG_net := pvc-net-router
PROG_flush := pvc-flush
PROG_fence := pvc-fence
PROG_api := pvc-api-units
PROG_ceph := pvc-ceph
PROG_meta := pvc-metadata
PROG_dns := pvc-dns-aggregator

srcs_in = $(sort $(wildcard $(1)/*.c))
objs_of = $(patsubst %.c,$(BUILD)/%.o,$(1))

COMMON_SRCS := $(call srcs_in,lib) $(call srcs_in,ipc)
WCOMMON_SRCS := $(call srcs_in,workers/common)
SUP_SRCS := $(filter-out supervisor/main.c,$(call srcs_in,supervisor) $(call srcs_in,supervisor/config))
$(foreach r,$(ROLES),$(eval ROLE_SRCS_$(r) := $(filter-out workers/$(r)/main.c,$(call srcs_in,workers/$(r)))))
CTL_SRCS := $(call srcs_in,tools/pvcctl)
LEASE_SRCS := $(call srcs_in,tools/pvc-dhcp-lease)

COMMON_A := $(BUILD)/libpvc-common.a
WCOMMON_A := $(BUILD)/libpvc-worker.a
SUP_A := $(BUILD)/libpvc-supervisor.a
ROLE_A = $(BUILD)/libpvc-$(1).a
# Tests, fuzz targets and benchmarks link every archive (and every library).
TEST_ARCHIVES := $(SUP_A) $(foreach r,$(ROLES),$(call ROLE_A,$(r))) $(WCOMMON_A) $(COMMON_A)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
ROLE_PROGS := $(foreach r,$(ROLES),$(BUILD)/$(PROG_$(r)))
PROGS := $(BUILD)/pvcnoded $(ROLE_PROGS) $(BUILD)/pvcctl $(BUILD)/pvc-dhcp-lease

.PHONY: test-build asan-build unit-bins all check check-unit check-integration check-faults check-asan demo demo-stop install deps \
	fuzz bench bench-footprint clean units-verify print-%

all: $(PROGS)

# -MMD: every object also depends on the headers it really includes
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(COMMON_A): $(call objs_of,$(COMMON_SRCS))
$(WCOMMON_A): $(call objs_of,$(WCOMMON_SRCS))
$(SUP_A): $(call objs_of,$(SUP_SRCS))
$(foreach r,$(ROLES),$(eval $(call ROLE_A,$(r)): $(call objs_of,$(ROLE_SRCS_$(r)))))
$(BUILD)/libpvc-%.a:
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/pvcnoded: $(BUILD)/supervisor/main.o $(SUP_A) $(COMMON_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_supervisor)

define role_program
$(BUILD)/$(PROG_$(1)): $(BUILD)/workers/$(1)/main.o $(call ROLE_A,$(1)) $(WCOMMON_A) $(COMMON_A)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_$(1))
endef
$(foreach r,$(ROLES),$(eval $(call role_program,$(r))))

# pvcctl reads the daemon's configuration (for the control socket's path).
$(BUILD)/pvcctl: $(call objs_of,$(CTL_SRCS)) $(SUP_A) $(COMMON_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_supervisor)

$(BUILD)/pvc-dhcp-lease: $(call objs_of,$(LEASE_SRCS)) $(COMMON_A)
	$(CC) $(LDFLAGS) -o $@ $^

TEST_INCLUDES := $(INCLUDES) -Isupervisor $(foreach r,$(ROLES),-Iworkers/$(r))

$(BUILD)/tests/%: tests/unit/%.c $(TEST_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_INCLUDES) $(LDFLAGS) -o $@ $< $(TEST_ARCHIVES) $(ALL_LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(TEST_ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TEST_INCLUDES) $(LDFLAGS) -o $@ $< $(TEST_ARCHIVES) $(ALL_LIBS)

# For tools/fuzz.sh: the sources and include flags of everything but the mains.
print-%:
	@echo $($*)
FUZZ_SRCS := $(COMMON_SRCS) $(WCOMMON_SRCS) $(SUP_SRCS) $(foreach r,$(ROLES),$(ROLE_SRCS_$(r)))

deps:
	@tools/install-deps.sh

# A build with test-only triggers (PVC_TEST_HOOKS: forbidden actions, garbage frames),
# used by the fault tests; the normal build and `make install` never contain them.
test-build:
	@$(MAKE) --no-print-directory BUILD=build-test EXTRA_CFLAGS=-DPVC_TEST_HOOKS all

# The whole tree with AddressSanitizer + UndefinedBehaviorSanitizer.
ASAN_FLAGS := BUILD=build-asan CC=clang \
	EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
	EXTRA_LDFLAGS="-fsanitize=address,undefined"
asan-build:
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) all unit-bins

unit-bins: $(UNIT_BINS)

# The whole suite: unit tests, then integration tests against real ZooKeeper,
# network namespaces and libvirt's test driver. Ends with "N passed, M failed".
check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@tests/run-all.sh

check-unit: all unit-bins
	@tests/run-all.sh unit

check-integration: all
	@tests/run-all.sh integration

# The long fault suite (tests/faults/f*.sh: ZooKeeper failures, partitions, kill -9
# storms, hangs, SIGTERM during takeover, hostile ZooKeeper values, fencing of frozen
# and killed nodes); about 11 minutes.
check-faults: deps all
	@tests/run-all.sh faults

# The whole suite (unit + integration) on the ASan+UBSan build, every sanitizer
# report fatal and collected (tests/run-all.sh asan). The bench binaries are built
# there too because t20-net-core drives build-asan/bench/net_router.
check-asan: deps
	@$(MAKE) --no-print-directory asan-build
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) $(BENCH_BINS:$(BUILD)/%=build-asan/%)
	@PVCT_BUILD=$(CURDIR)/build-asan tests/run-all.sh asan

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

demo-stop:
	@tools/demo.sh stop

bench: all $(BENCH_BINS)
	@tools/run-bench.sh

# Real hypervisors: two libvirtd + QEMU (TCG) nodes on this host (tests/qemu/,
# docs/vm-manager.md): start, shutdown, restart, live migration, console log. Installs
# libvirt's QEMU driver and qemu-system-x86 if missing; ends "N passed, M failed".
.PHONY: check-qemu bench-migrate
check-qemu:
	@tools/install-deps.sh --qemu
	@$(MAKE) --no-print-directory all
	@tests/qemu/run.sh

# Live migration of a 256 MiB TCG guest: pvcnoded vs `virsh migrate --live --p2p`.
bench-migrate:
	@tools/install-deps.sh --qemu
	@$(MAKE) --no-print-directory all
	@bash bench/migrate.sh $(MIGRATE_RUNS)

# Takeover to the first DNS answer of the aggregator's pdns (bench/dns.sh).
.PHONY: bench-dns
bench-dns: all
	@tools/install-deps.sh --services
	@bash bench/dns.sh $(DNS_ROUNDS)

# The primary's services against real servers started by the tests (tests/services/):
# PostgreSQL 15, PowerDNS with its PostgreSQL backend, the metadata API, the API units.
.PHONY: check-services check-ceph
check-services:
	@tools/install-deps.sh --services
	@$(MAKE) --no-print-directory all
	@tests/run-all.sh services

# Storage against a real single-host Ceph 16 (mon, mgr, OSDs on files) that the tests
# start themselves (tests/ceph/).
check-ceph:
	@tools/install-deps.sh --ceph
	@$(MAKE) --no-print-directory all
	@tests/run-all.sh ceph

# One statistics cycle of the ceph worker vs the reference's CLI calls, on a
# single-host Ceph 16 started by the script; prints figures, not a test.
.PHONY: bench-ceph
bench-ceph: all $(BUILD)/bench/ceph_cycle
	@tools/install-deps.sh --ceph
	@PVCT_BUILD=$(CURDIR)/$(BUILD) bash bench/ceph_cycle.sh

# Memory (PSS) and idle CPU of one node's processes; prints figures, not a test.
bench-footprint: deps all
	@bash bench/footprint.sh

# The metadata API: takeover -> first answer, 50 concurrent clients (tests/lib/metadata.sh's
# cluster with real ZooKeeper and PostgreSQL); prints figures, not a test.
.PHONY: bench-metadata
bench-metadata:
	@tools/install-deps.sh --services
	@$(MAKE) --no-print-directory all $(BUILD)/bench/metadata
	@bash bench/metadata.sh

.PHONY: check-model
check-model:
	@bash tools/model/check.sh

# Client view of the floating IP (1 ms pings) through switchovers, kill -9, host death.
bench-gap: deps all $(BUILD)/bench/gap_ping
	@PVCT_BUILD=$(CURDIR)/$(BUILD) bash bench/gap.sh

fuzz: deps
	@tools/fuzz.sh $(FUZZ_SECONDS)

# Debian package (debian/), built in a copy of the tree into build/deb/; its test
# (build, lintian, install/upgrade/purge in a Debian 12 chroot): docs/install.md.
.PHONY: deb check-package
deb:
	@tests/package/build-deb.sh $(CURDIR)/build/deb

check-package:
	@tests/package/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/pvcnoded $(DESTDIR)$(PREFIX)/sbin/pvcnoded
	install -m 0755 $(BUILD)/pvcctl $(DESTDIR)$(PREFIX)/bin/pvcctl
	install -m 0755 $(ROLE_PROGS) $(BUILD)/pvc-dhcp-lease $(DESTDIR)$(LIBEXECDIR)/
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 units/pvc.target units/pvcnoded.service units/pvc-flush.service $(DESTDIR)/lib/systemd/system/
	install -d $(DESTDIR)/etc/pvc
	if [ ! -e $(DESTDIR)/etc/pvc/pvcnoded.yaml ]; then install -m 0600 docs/pvcnoded.sample.yaml $(DESTDIR)/etc/pvc/pvcnoded.yaml; fi
	install -d $(DESTDIR)/usr/lib/sysusers.d
	install -m 0644 units/pvcnoded.sysusers $(DESTDIR)/usr/lib/sysusers.d/pvcnoded.conf
	install -d $(DESTDIR)/usr/share/polkit-1/rules.d
	install -m 0644 units/pvcnoded-api.polkit.rules $(DESTDIR)/usr/share/polkit-1/rules.d/50-pvcnoded-api.rules
	if [ -z "$(DESTDIR)" ]; then \
		getent group pvc >/dev/null || groupadd --system pvc; \
		for u in pvc-zk pvc-vm pvc-net pvc-flush pvc-fence pvc-api pvc-ceph pvc-meta pvc-dns; do \
			getent passwd $$u >/dev/null || useradd --system --user-group --no-create-home \
				--home-dir /nonexistent --shell /usr/sbin/nologin $$u; \
			id -nG $$u | tr ' ' '\n' | grep -qx pvc || usermod -a -G pvc $$u; \
		done; fi

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-test
