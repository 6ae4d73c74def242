# grilld: top-level build. See README.md; `make help` lists the targets.

include mk/flags.mk

.SECONDEXPANSION:
# Keep intermediate objects (tests, tools, fuzzers) between runs.
.SECONDARY:

DAEMONS := poller ingest api stream twsim
PROGS   := $(addprefix $(BIN)/grilld-,$(DAEMONS))

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libgrilld.a

# Each daemon is every .c file of the folder named as it (twsim/ builds
# grilld-twsim).
objs_of = $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c))

# civetweb opens "libssl.so" at run time for HTTPS: grilld-api answers to
# that name itself and supplies what OpenSSL 3 lacks (api/tls.c); and
# its accept() keeps civetweb below the descriptor limit (api/accept.c).
LDFLAGS_api := -Wl,-soname,libssl.so \
	-Wl,--export-dynamic-symbol=SSL_get_peer_certificate \
	-Wl,--export-dynamic-symbol=accept

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_LIB  := $(BUILD)/tests/unit.o
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(wildcard tests/tools/*.c))
# LD_PRELOAD shims the scenarios load into a daemon (tests/preload/)
PRELOADS  := $(patsubst tests/preload/%.c,$(BUILD)/preload/%.so,$(wildcard tests/preload/*.c))

.PHONY: all help deps deps-check test unit integration sanitize tsan tsan-run \
	valgrind fuzz fuzz-build fuzz-bins bench run chaos clean checksrc \
	cycles sample-config install uninstall bare-test
all: checksrc $(PROGS) $(TOOLS) $(PRELOADS)

# Every target of the .PHONY list above, each on a line of its own
# (07-docs checks that none is missing).
help:
	@echo "make              build every program into $(BIN)/ (same as make all)"
	@echo "make all          build every program into $(BIN)/"
	@echo "make help         this list"
	@echo "make deps         install the Debian packages grilld needs (idempotent)"
	@echo "make deps-check   the same, quiet when nothing is missing"
	@echo "make test         unit and integration tests (real redis-server, influxd)"
	@echo "make unit         the unit tests only"
	@echo "make integration  the integration scenarios only"
	@echo "make sanitize     the whole suite under ASan and UBSan"
	@echo "make tsan         ThreadSanitizer build (build/tsan): the unit tests and a"
	@echo "                  subset of the scenarios (tests/tsan.sh), no report allowed"
	@echo "make tsan-run     the same on an already built build/tsan (TSAN=1)"
	@echo "make valgrind     every daemon under valgrind through a cook: no leak, no error"
	@echo "make fuzz         every libFuzzer target for FUZZ_SECONDS (60) seconds"
	@echo "make fuzz-build   build the fuzzers (clang) without running them"
	@echo "make fuzz-bins    the fuzzer binaries (what fuzz-build makes)"
	@echo "make run          the whole stack on this machine, in the foreground"
	@echo "make bench        the benchmarks"
	@echo "make chaos        the fault suite for CHAOS_MINUTES (30) minutes"
	@echo "make checksrc     the check for banned string calls"
	@echo "make cycles       the check that no files of common/ call each other in a"
	@echo "                  cycle (mk/cycles.sh; every build of the library runs it)"
	@echo "make sample-config  regenerate deploy/etc/grilld.yaml, grilld.yaml(5) and"
	@echo "                  docs/configuration.md from the option table"
	@echo "make install      install into DESTDIR PREFIX ($(PREFIX)): programs, page,"
	@echo "                  man pages, sample configuration, systemd units"
	@echo "make uninstall    remove what make install installed (not /etc/grilld)"
	@echo "make bare-test    as root: make test in a fresh Debian 12 chroot with only"
	@echo "                  git and make (tests/bare/chroot.sh; not part of make test)"
	@echo "make clean        remove build/ and bin/"

# The library is layered: no two of its files call each other in a cycle.
$(LIB): $(COMMON_OBJ)
	@mkdir -p $(@D)
	@sh mk/cycles.sh $(BUILD)/common
	$(AR) rcs $@ $^

define daemon_rule
$(BIN)/grilld-$(1): $(call objs_of,$(1)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$(LDFLAGS_$(1)) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit.o: tests/unit/unit.c tests/unit/unit.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# A unit test named test_<daemon>_*.c also links that daemon's objects
# except the one holding main() (poller/poller.c, twsim/twsim.c, ...).
main_of   = $(BUILD)/$(1)/$(1).o
daemon_of = $(firstword $(filter $(DAEMONS),$(subst _, ,$(1))))
test_deps = $(if $(call daemon_of,$(1)),$(filter-out \
	$(call main_of,$(call daemon_of,$(1))),$(call objs_of,$(call daemon_of,$(1)))))

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $$(call test_deps,$$*) \
		$(UNIT_LIB) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Without the sanitizers: it is loaded into any build of a daemon.
$(BUILD)/preload/%.so: tests/preload/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 -O2 $(WARN) -fPIC -shared -o $@ $< -ldl

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_SECONDS ?= 60

# fuzz_<daemon>_*.c also links that daemon's objects, as unit tests do.
$(BUILD)/fuzzers/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $$(call test_deps,$$*) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-bins
fuzz-bins: $(FUZZ_BINS)

# Each target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=600 for longer),
# new inputs kept in build/fuzz/work, the committed seeds in
# tests/fuzz/corpus/<name>. A crash leaves its input in build/fuzz/.
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

checksrc:
	@sh mk/checksrc.sh

cycles: $(COMMON_OBJ)
	@sh mk/cycles.sh $(BUILD)/common && echo "cycles: none in common/"

deps:
	@sh mk/deps.sh

unit: all $(UNIT_BINS)
	@BUILD=$(BUILD) BIN=$(BIN) bash tests/run unit

integration: all $(UNIT_BINS)
	@BUILD=$(BUILD) BIN=$(BIN) bash tests/run integration

# The targets a new machine starts with install the packages first, and
# only then build (a sub-make: with -j, or a bare machine with no cc yet,
# nothing may compile before deps-check has finished).
test: deps-check
	@$(MAKE) --no-print-directory all $(UNIT_BINS)
	@BUILD=$(BUILD) BIN=$(BIN) bash tests/run

# The whole suite again, built with ASan and UBSan into a tree of its own.
sanitize: deps-check
	@$(MAKE) --no-print-directory SAN=1 test

# The unit tests and a subset of the scenarios (tests/tsan.sh says which
# and why) built with ThreadSanitizer into build/tsan: any report fails.
# TSAN_SCENARIOS="06-stream 05-api" picks others.
tsan: deps-check
	@$(MAKE) --no-print-directory TSAN=1 tsan-run

tsan-run: all $(UNIT_BINS)
	@BUILD=$(BUILD) BIN=$(BIN) bash tests/tsan.sh $(TSAN_SCENARIOS)

# Every daemon under valgrind through a normal cook (about 1.5 min):
# tests/integration/08-valgrind-cook.sh.
valgrind: deps-check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BIN=$(BIN) bash tests/run integration 08-valgrind

deps-check:
	@sh mk/deps.sh --check-or-install

# docs/configuration.md: the hand-written part up to "## Every option",
# then the generated list.
sample-config: $(BUILD)/tools/confgen
	$(BUILD)/tools/confgen > deploy/etc/grilld.yaml
	$(BUILD)/tools/confgen -m > docs/man/grilld.yaml.5
	cp deploy/etc/grilld.yaml deploy/k8s/base/grilld.yaml
	{ sed '/^## Every option$$/q' docs/configuration.md && echo && \
	    $(BUILD)/tools/confgen -d; } > docs/configuration.md.new
	mv docs/configuration.md.new docs/configuration.md

# On a terminal, mk/run.sh runs as a job of its own (set -m) that owns the
# terminal: Ctrl-C reaches it alone, it stops the stack in order and exits
# 0, and make, which never sees the signal, ends quietly.
run: deps-check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BIN=$(BIN) RESET=$(RESET) bash -c '[ -t 0 ] && set -m; bash mk/run.sh; exit $$?'

bench: deps-check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) BIN=$(BIN) bash bench/run.sh

# The fault suite's long form (docs/faults.md): every fault, then random
# ones for CHAOS_MINUTES; figures, per-point files and logs are kept in
# build/chaos/<date>/. make test runs the short form (08-faults-*).
CHAOS_MINUTES ?= 30
chaos: deps-check
	@$(MAKE) --no-print-directory all
	@CHAOS_MINUTES=$(CHAOS_MINUTES) BUILD=$(BUILD) BIN=$(BIN) \
	    CHAOS_OUT=$(BUILD)/chaos/$$(date +%Y%m%d-%H%M%S) \
	    bash tests/chaos/chaos.sh -p long

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]
# [UNITDIR=$(PREFIX)/lib/systemd/system]. The units are rewritten for
# PREFIX; an existing /etc/grilld/grilld.yaml is kept.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DATADIR    := $(PREFIX)/share/grilld
MANDIR     := $(PREFIX)/share/man
DOCDIR     := $(PREFIX)/share/doc/grilld
UNITS      := $(wildcard deploy/systemd/*.service)
PAGE_FILES := index.html app.js style.css
UPLOT_DIST := stream/www/node_modules/uplot/dist

install: all
	@test -f $(UPLOT_DIST)/uPlot.iife.min.js || { echo \
	    "install: no chart library in $(UPLOT_DIST): run make deps" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/www \
	    $(DESTDIR)$(DATADIR)/www/node_modules/uplot/dist \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/grilld
	install -d -m 700 $(DESTDIR)$(SYSCONFDIR)/grilld/credentials
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(addprefix stream/www/,$(PAGE_FILES)) $(DESTDIR)$(DATADIR)/www/
	install -m 644 $(UPLOT_DIST)/* $(DESTDIR)$(DATADIR)/www/node_modules/uplot/dist/
	install -m 644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 deploy/etc/grilld.yaml $(DESTDIR)$(DATADIR)/grilld.yaml.sample
	test -e $(DESTDIR)$(SYSCONFDIR)/grilld/grilld.yaml || install -m 644 \
	    deploy/etc/grilld.yaml $(DESTDIR)$(SYSCONFDIR)/grilld/grilld.yaml
	for u in $(UNITS); do \
	    sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' \
	        -e 's|/usr/local/share/|$(PREFIX)/share/|g' \
	        -e 's|/etc/grilld/|$(SYSCONFDIR)/grilld/|g' "$$u" \
	        > $(DESTDIR)$(UNITDIR)/$$(basename "$$u") || exit 1; \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$(basename "$$u"); \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/grilld-,$(DAEMONS))
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard docs/man/*.8)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard docs/man/*.5)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	@echo "uninstall: $(SYSCONFDIR)/grilld (configuration, credentials) kept"

# Not part of make test: downloads a Debian system (tests/bare/chroot.sh).
bare-test:
	bash tests/bare/chroot.sh $(BARE_DIR)

clean:
	rm -rf build bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
