# `make check-asan`: the integration suite against the module built with
# AddressSanitizer and UndefinedBehaviorSanitizer (LeakSanitizer on), clean
# or it fails. (make check-asan-unit, in mk/fuzz.mk, does the unit tests.)
#
#   make check-asan [ASAN_MPMS=event] [ASAN_TESTS="t/10_fault_ingest_down.t"]
#
# - The module is compiled with gcc straight into $(ASAN_DIR) (not through
#   apxs, whose libtool objects sit next to the sources): the normal build in
#   .libs is left alone.
# - Debian's apache2 is not instrumented, so the ASan runtime must come first
#   in the process: $(ASAN_DIR)/apache2 is a wrapper that preloads gcc's
#   libasan (and libubsan) into httpd only (not into perl or node), sets the
#   sanitizers' options (reports to $(ASAN_DIR)/reports/, a directory httpd's
#   User can write) and passes `-C "LoadModule dosificador_module <asan .so>"`:
#   read before the configuration, it makes httpd skip the configuration's
#   own LoadModule of the normal build ("module ... is already loaded").
# - The suite runs with HTTPD set to the wrapper: Apache::Test's server and
#   the fault scenarios' own servers (t/lib/Faults/Httpd.pm) both use it.
# - Then every sanitizer report fails the target: the report files, and
#   "AddressSanitizer", "LeakSanitizer" or "runtime error:" in any error log.
#   Leak reports do not change exit codes (exitcode=0: Apache::Test reads
#   httpd's); the leaks httpd itself always has (its threads' allocators)
#   are suppressed ($(ASAN_DIR)/lsan.supp). The dispatchers end with _exit(): LeakSanitizer
#   does not look at them, only at httpd's parent and workers.
ASAN_DIR    := $(BUILD)/asan-httpd
ASAN_SO     := $(ASAN_DIR)/mod_dosificador.so
ASAN_HTTPD  := $(ASAN_DIR)/apache2
ASAN_CC     ?= gcc
ASAN_MPMS   ?= event
ASAN_TESTS  ?=
ASAN_MOD_CFLAGS = $(shell $(APXS) -q CFLAGS 2>/dev/null) $(shell $(APXS) -q EXTRA_CPPFLAGS 2>/dev/null) \
                  -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) $(APR_CFLAGS) -Iinclude $(WARN) \
                  -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fPIC -shared

.PHONY: check-asan asan-module check-asan-report

$(ASAN_SO): mod_dosificador.c $(CORE_SRC) $(CORE_HDR) mk/asan.mk
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_MOD_CFLAGS) -o $@ mod_dosificador.c $(CORE_SRC) $(LIBS)

# Only what httpd itself never frees: the allocators of its main thread
# (ap_thread_main_create) and of the event MPM's threads, which live until
# the process exits. The stacks are full (fast_unwind_on_malloc=0), and the
# module creates no allocator of its own (check-asan-report makes sure), so
# nothing the module leaks can hide behind this.
$(ASAN_DIR)/lsan.supp: mk/asan.mk
	@mkdir -p $(@D)
	@printf '%s\n' '# httpd: thread allocators kept until exit (mk/asan.mk).' \
	    'leak:apr_allocator_create' >$@

$(ASAN_HTTPD): mk/asan.mk $(ASAN_SO) $(ASAN_DIR)/lsan.supp
	@mkdir -p $(@D)
	@printf '%s\n' '#!/bin/sh' \
	    '# httpd with the ASan/UBSan build of mod_dosificador (written by mk/asan.mk).' \
	    'd=$(abspath $(ASAN_DIR))' \
	    'LD_PRELOAD="$(shell $(ASAN_CC) -print-file-name=libasan.so) $(shell $(ASAN_CC) -print-file-name=libubsan.so)$${LD_PRELOAD:+ $$LD_PRELOAD}"' \
	    'ASAN_OPTIONS="detect_leaks=1:log_path=$$d/reports/asan:log_exe_name=1:strict_string_checks=1:detect_stack_use_after_return=1:handle_abort=1:allow_user_segv_handler=1:fast_unwind_on_malloc=0:malloc_context_size=30"' \
	    'LSAN_OPTIONS="suppressions=$$d/lsan.supp:print_suppressions=0:exitcode=0"' \
	    'UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$$d/reports/ubsan"' \
	    'export LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS' \
	    'exec $(HTTPD) -C "LoadModule dosificador_module $$d/mod_dosificador.so" "$$@"' >$@
	@chmod 755 $@

asan-module: $(ASAN_HTTPD)

check-asan: all $(ASAN_HTTPD)
	@rm -rf $(ASAN_DIR)/reports && mkdir -p $(ASAN_DIR)/reports && chmod 1777 $(ASAN_DIR)/reports
	@chmod 755 $(ASAN_DIR)
	@start=$$(date +%s); rc=0; \
	MPMS="$(ASAN_MPMS)" GATES=on APXS="$(APXS)" HTTPD="$(abspath $(ASAN_HTTPD))" \
	    t/rig/suite.sh -apxs $(APXS) -httpd $(abspath $(ASAN_HTTPD)) $(ASAN_TESTS) || rc=$$?; \
	echo "check-asan: suite exit $$rc, wall time $$(( $$(date +%s) - start )) s"; \
	$(MAKE) --no-print-directory check-asan-report || rc=1; \
	exit $$rc

# Any sanitizer report fails: the report files and the error logs.
check-asan-report:
	@n=0; \
	if grep -n 'apr_allocator_create' mod_dosificador.c src/*.c; then \
	    echo "check-asan: the module creates an allocator: leak:apr_allocator_create in lsan.supp would hide its leaks"; n=1; fi; \
	for f in $(ASAN_DIR)/reports/*; do \
	    [ -s "$$f" ] || continue; n=$$((n + 1)); \
	    echo "=== $$f"; head -n 60 "$$f"; \
	done; \
	logs=$$(ls t/logs/error_log t/run/error_log.* t/run/faults/*/logs/error_log 2>/dev/null); \
	hits=$$(grep -l -E 'AddressSanitizer|LeakSanitizer|runtime error:' $$logs 2>/dev/null); \
	for f in $$hits; do n=$$((n + 1)); echo "=== $$f"; \
	    grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$$f" | head -n 60; done; \
	if [ $$n -eq 0 ]; then echo "check-asan: no sanitizer report (reports in $(ASAN_DIR)/reports, error logs: $$(echo $$logs | wc -w))"; \
	else echo "check-asan: $$n sanitizer report(s)"; exit 1; fi
