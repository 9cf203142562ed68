# mod_dosificador. `make` builds .libs/mod_dosificador.so with apxs;
# `make test` installs what is missing, builds and runs every test;
# `make run` shows the dose at work on local emulators.
APXS      ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
HTTPD     ?= $(shell command -v apache2 2>/dev/null || echo /usr/sbin/apache2)
CC        ?= gcc
BUILD     := build

CORE_SRC  := $(sort $(wildcard src/*.c))
CORE_HDR  := $(wildcard include/*.h)
LIBS      := -lcurl -ljansson -lcrypto

# For the core's unit tests, built without httpd.
APR_CFLAGS = $(shell apr-1-config --cflags --cppflags --includes 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apr-1-config --link-ld --libs 2>/dev/null) \
             $(shell apu-1-config --link-ld --libs 2>/dev/null)
WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2
CFLAGS    ?= -O2 -g
TEST_CFLAGS = $(CFLAGS) $(WARN) $(APR_CFLAGS) -Iinclude $(EXTRA_CFLAGS)

.PHONY: all clean test check check-unit run deps
all: .libs/mod_dosificador.so

# apxs echoes every libtool line; keep only the compiler's own words.
.libs/mod_dosificador.so: | $(BUILD)
$(BUILD):
	@mkdir -p $@
.libs/mod_dosificador.so: mod_dosificador.c $(CORE_SRC) $(CORE_HDR)
	@echo "apxs -c mod_dosificador.c src/*.c"
	@$(APXS) -c -Wc,"$(WARN) $(CFLAGS) $(EXTRA_CFLAGS)" -Wl,"$(EXTRA_LDFLAGS)" -Iinclude \
	    -o mod_dosificador.la mod_dosificador.c $(CORE_SRC) $(LIBS) > $(BUILD)/apxs.log 2>&1 \
	    || { cat $(BUILD)/apxs.log; exit 1; }
	@grep -E ': (warning|error):' $(BUILD)/apxs.log || true

# --- core unit tests (TAP), one program per t/unit/*.c ---------------------
CORE_OBJ   := $(patsubst src/%.c,$(BUILD)/core/%.o,$(CORE_SRC))
UNIT_SRC   := $(sort $(wildcard t/unit/test_*.c))
UNIT_BIN   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
.SECONDARY: $(CORE_OBJ)

$(BUILD)/core/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/unit/%: t/unit/%.c t/unit/tap.h $(CORE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -It/unit -o $@ $< $(CORE_OBJ) $(APR_LIBS) $(LIBS) $(EXTRA_LDFLAGS)

unit: $(UNIT_BIN)
check-unit: $(UNIT_BIN)
	prove -f $(UNIT_BIN)

# Area fragments: each owns its targets (deps, sigv4, fuzz, integration, bench).
include $(sort $(wildcard mk/*.mk))

# The single test command: install, build, every suite; ends with prove's summary.
test: deps all check-unit check-asan-unit check-sigv4 check-sigv4-diff check-gate check-creds check-status check-integration

check: test

clean:
	rm -rf $(BUILD) .libs *.la *.lo *.o *.slo src/*.lo src/*.o src/*.slo src/.libs t/logs
