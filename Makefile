# pvcnoded: build, test and demo.
#
#   make            build/pvcnoded, build/pvcctl, build/pvc-dhcp-lease
#   make check      install missing Debian packages, unit + integration tests
#   make demo       local 3-node cluster with its own ZooKeeper (Ctrl-C or make demo-stop)
#   make install DESTDIR=... PREFIX=/usr

CC ?= cc
BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -I/usr/include/zookeeper \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LIBVIRT_CFLAGS := $(shell pkg-config --cflags libvirt 2>/dev/null)
LIBVIRT_LIBS := $(shell pkg-config --libs libvirt 2>/dev/null || echo -lvirt)
CFLAGS += $(LIBVIRT_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LIBS := -lzookeeper_st $(LIBVIRT_LIBS) -lyaml -lcap -lseccomp -lnftables -lm

LIB_SRCS := $(wildcard ipc/*.c) $(filter-out supervisor/main.c,$(wildcard supervisor/*.c)) \
	$(wildcard workers/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/supervisor/main.o
CTL_SRCS := tools/pvcctl.c
LEASE_SRCS := $(wildcard tools/pvc-dhcp-lease.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

PROGS := $(BUILD)/pvcnoded $(BUILD)/pvcctl $(if $(LEASE_SRCS),$(BUILD)/pvc-dhcp-lease)

.PHONY: test-build asan-build unit-bins all check check-unit check-integration check-faults check-asan demo demo-stop install deps \
	fuzz bench clean units-verify

all: $(PROGS)

# -MMD: every object also depends on the headers it really includes (workers/*.h too)
$(BUILD)/%.o: %.c $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/libpvc.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/pvcnoded: $(MAIN_OBJ) $(BUILD)/libpvc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/pvcctl: $(CTL_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libpvc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/pvc-dhcp-lease: $(LEASE_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libpvc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libpvc.a $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpvc.a $(LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libpvc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpvc.a $(LIBS)

deps:
	@tools/install-deps.sh

# A build with test-only triggers (PVC_TEST_HOOKS: forbidden actions, garbage frames),
# used by the fault tests; the normal build and `make install` never contain them.
test-build:
	@$(MAKE) --no-print-directory BUILD=build-test EXTRA_CFLAGS=-DPVC_TEST_HOOKS all

# The whole tree with AddressSanitizer + UndefinedBehaviorSanitizer.
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit-bins

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
# storms, hangs, SIGTERM during takeover); about 6 minutes.
check-faults: deps all
	@tests/run-all.sh faults

# The whole suite (unit + integration) on the ASan+UBSan build, every sanitizer
# report fatal and collected (tests/run-all.sh asan). The bench binaries are built
# there too because t20-net-core drives build-asan/bench/net_router.
check-asan: deps
	@$(MAKE) --no-print-directory asan-build
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -O1" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" $(BENCH_BINS:$(BUILD)/%=build-asan/%)
	@PVCT_BUILD=$(CURDIR)/build-asan tests/run-all.sh asan

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

demo-stop:
	@tools/demo.sh stop

bench: all $(BENCH_BINS)
	@tools/run-bench.sh

fuzz: deps
	@tools/fuzz.sh $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pvc
	install -m 0755 $(BUILD)/pvcnoded $(DESTDIR)$(PREFIX)/sbin/pvcnoded
	install -m 0755 $(BUILD)/pvcctl $(DESTDIR)$(PREFIX)/bin/pvcctl
	if [ -x $(BUILD)/pvc-dhcp-lease ]; then install -m 0755 $(BUILD)/pvc-dhcp-lease $(DESTDIR)$(PREFIX)/lib/pvc/pvc-dhcp-lease; fi
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 units/pvc.target units/pvcnoded.service units/pvc-flush.service $(DESTDIR)/lib/systemd/system/
	install -d $(DESTDIR)/etc/pvc
	if [ ! -e $(DESTDIR)/etc/pvc/pvcnoded.yaml ]; then install -m 0600 docs/pvcnoded.sample.yaml $(DESTDIR)/etc/pvc/pvcnoded.yaml; fi
	install -d $(DESTDIR)/usr/lib/sysusers.d
	install -m 0644 units/pvcnoded.sysusers $(DESTDIR)/usr/lib/sysusers.d/pvcnoded.conf
	if [ -z "$(DESTDIR)" ] && ! getent passwd pvc >/dev/null; then \
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pvc; fi

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-test
