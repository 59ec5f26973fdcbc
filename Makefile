# cft: careful end-to-end file transfer.  Plain GNU Make.
#
#   make                 build bin/cft, bin/cft-send, bin/cft-recv, bin/cft-shim
#   make check           every test (unit, end-to-end, man page lint)
#   make check SANITIZE=1  the same under AddressSanitizer + UBSan
#   make deps            install the Debian packages the build and tests need
#   make demo            a real, verified transfer on loopback
#   make bench           cft against rsync, rsync --fsync + rehash, nc + openssl
#                        (BENCH_SIZE=bytes BENCH_RUNS=rounds)
#   make bench-link      cft through cft-shim links (loss, long RTT) and on a
#                        100 Mbit/s tbf veth link, alone and beside TCP (root)
#   make fuzz            libFuzzer on the wire decoder and both engines (clang)
#   make install         PREFIX=/usr/local DESTDIR= BINDIR= MANDIR= SYSTEMDDIR=
#   V=1 verbose, WERROR=1 warnings are errors.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
PKG_CONFIG ?= pkg-config
CC ?= cc

CFLAGS ?= -O2 -g
CFLAGS += -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -MMD -MP
CFLAGS += -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion -Wformat=2 \
	  -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS += $(shell $(PKG_CONFIG) --cflags libcrypto zlib 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs libcrypto zlib 2>/dev/null || echo -lcrypto -lz)
# Workers (worker.h): the disk work runs beside the event loop.
CFLAGS += -pthread
LDFLAGS += -pthread

ifeq ($(WERROR),1)
CFLAGS += -Werror
endif
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

B := build
# Layers: shared code in src/lib (the only thing in libcft.a), each program's
# engine and main in its own folder, the front command and the programs'
# entry points at the top of src/.
LIB_SRCS := $(wildcard src/lib/*.c)
SEND_SRCS := src/send/send-session.c src/send/send-verify.c src/send/send-say.c \
	     src/send/send-data.c src/send/feed.c src/send/source.c src/send/vread.c src/send/cc.c src/send/flow.c \
	     src/send/sched.c src/send/send-keys.c src/send/send-hello.c src/send/progress.c
SEND_MAIN := src/send/send-main.c src/send/send-report.c src/send/tree.c
RECV_SRCS := src/recv/recv-server.c src/recv/recv-session.c src/recv/recv-verify.c \
	     src/recv/recv-reply.c src/recv/recv-blocks.c src/recv/recv-disk.c \
	     src/recv/store.c src/recv/store-sweep.c
RECV_MAIN := src/recv/recv-main.c src/recv/recv-report.c src/recv/privs.c
SHIM_SRCS := src/shim/shim-faults.c src/shim/shim-relay.c
SHIM_MAIN := src/shim/shim-main.c
objs = $(patsubst src/%.c,$(B)/%.o,$(1))
LIB_OBJS := $(call objs,$(LIB_SRCS))
SEND_OBJS := $(call objs,$(SEND_SRCS) $(SEND_MAIN))
RECV_OBJS := $(call objs,$(RECV_SRCS) $(RECV_MAIN))
SHIM_OBJS := $(call objs,$(SHIM_SRCS) $(SHIM_MAIN))
ENGINE_OBJS := $(call objs,$(SEND_SRCS) $(RECV_SRCS) $(SHIM_SRCS))
PROGS := bin/cft bin/cft-send bin/cft-recv bin/cft-shim
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%.o)
FAULTLIB := $(B)/libcft-faultio.so
MANS := man/cft.1 man/cft-send.1 man/cft-recv.1 man/cft-shim.1 man/cft-protocol.7

TESTTOOLS := $(B)/cft-dgram $(B)/cft-disk

all: $(PROGS) $(FAULTLIB)

# Rebuild everything when the flags change (SANITIZE=1 and back).
$(B)/flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

$(B)/%.o: src/%.c $(B)/flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libcft.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

bin/cft-send: $(B)/cft-send.o $(SEND_OBJS) $(B)/libcft.a
bin/cft-recv: $(B)/cft-recv.o $(RECV_OBJS) $(B)/libcft.a
bin/cft-shim: $(B)/cft-shim.o $(SHIM_OBJS) $(B)/libcft.a
bin/cft: $(B)/cft.o $(B)/genkey.o $(SEND_OBJS) $(RECV_OBJS) $(SHIM_OBJS) $(B)/libcft.a
$(PROGS):
	@mkdir -p bin
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FAULTLIB): tests/lib/faultio.c $(B)/flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(filter-out -fsanitize=%,$(CFLAGS)) -fPIC -shared -o $@ $< -ldl

$(B)/tests/%.o: tests/unit/%.c $(B)/flags
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(B)/cft-dgram: tests/tools/dgram.c $(B)/libcft.a $(B)/flags
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcft.a $(LDLIBS)

$(B)/cft-disk: tests/tools/disk.c $(B)/libcft.a $(B)/flags
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libcft.a $(LDLIBS)

$(B)/unit-tests: $(UNIT_OBJS) $(ENGINE_OBJS) $(B)/libcft.a
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

# Tests: unit tests first (fast, pure), then the real programs on loopback.
# check and demo install what they need first (a no-op once installed), so
# each works alone on a fresh Debian 12 machine.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all $(B)/unit-tests $(TESTTOOLS)
	$(B)/unit-tests --jobs 2
	CFT_BIN=$(CURDIR)/bin CFT_BUILD=$(CURDIR)/$(B) SANITIZE=$(SANITIZE) tests/e2e/run-all.sh
	$(MAKE) --no-print-directory lint-man

# The protocol page states the version the code speaks, in its title and in
# the header's table: a version bump must change both.
PROTO_VERSION = $(shell sed -n 's/^\#define CFT_PROTO_VERSION \([0-9]*\)$$/\1/p' include/cft/limits.h)
lint-man:
	@for m in $(MANS); do mandoc -Tlint -W warning $$m || exit 1; done
	@grep -q '^\.Nd the cft datagram protocol, version $(PROTO_VERSION)$$' man/cft-protocol.7 && \
	 grep -q '^\.It 2 Ta 1 Ta version, $(PROTO_VERSION)$$' man/cft-protocol.7 || \
	 { echo "man/cft-protocol.7 does not say version $(PROTO_VERSION) (limits.h)"; exit 1; }
	@echo "man pages: $(words $(MANS)) lint-clean, protocol version $(PROTO_VERSION)"

# Debian packages for building, testing, the demo and the benchmark.
DEPS := build-essential pkg-config libssl-dev zlib1g-dev libcriterion-dev mandoc \
	rsync netcat-openbsd time openssl iproute2 iperf3
deps:
	@if dpkg -s $(DEPS) >/dev/null 2>&1; then echo "deps: all installed"; else \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEPS); fi

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(B)/cft-disk
	@bench/bench.sh

bench-link: deps
	@$(MAKE) --no-print-directory all
	@bench/link.sh

# libFuzzer harnesses for every parser of untrusted bytes (clang needed):
# make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -g -O1 \
	      -fsanitize=fuzzer,address,undefined
FUZZ_SRCS_wire := $(LIB_SRCS)
FUZZ_SRCS_recv := $(LIB_SRCS) $(RECV_SRCS)
FUZZ_SRCS_send := $(LIB_SRCS) $(SEND_SRCS)
FUZZERS := wire recv send
.SECONDEXPANSION:
$(B)/fuzz-%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_$$*)
	@mkdir -p $(B)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(LDLIBS)

# Each harness starts from the seeds in testdata/corpus/NAME and keeps what it
# learns in build/corpus-NAME.
fuzz: $(FUZZERS:%=$(B)/fuzz-%)
	@for h in $(FUZZERS); do \
		mkdir -p $(B)/corpus-$$h; \
		echo "fuzz: $$h ($(FUZZ_SECONDS) s)"; \
		$(B)/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
			$(B)/corpus-$$h testdata/corpus/$$h 2>&1 | tail -n 3 || exit 1; \
	done

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0644 man/cft.1 man/cft-send.1 man/cft-recv.1 man/cft-shim.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/cft-protocol.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(SYSTEMDDIR)
	sed 's|@BINDIR@|$(BINDIR)|g' 'src/recv/cft-recv@.service.in' >'$(DESTDIR)$(SYSTEMDDIR)/cft-recv@.service'
	chmod 0644 '$(DESTDIR)$(SYSTEMDDIR)/cft-recv@.service'

uninstall:
	rm -f $(PROGS:bin/%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(DESTDIR)$(MANDIR)/man1/cft.1 $(DESTDIR)$(MANDIR)/man1/cft-send.1 \
	      $(DESTDIR)$(MANDIR)/man1/cft-recv.1 $(DESTDIR)$(MANDIR)/man1/cft-shim.1 \
	      $(DESTDIR)$(MANDIR)/man7/cft-protocol.7 '$(DESTDIR)$(SYSTEMDDIR)/cft-recv@.service'

clean:
	rm -rf $(B) bin

FORCE:
.PHONY: all check check-run lint-man deps demo bench bench-link fuzz install uninstall clean FORCE
.SECONDARY:

-include $(wildcard $(B)/*.d $(B)/*/*.d)
