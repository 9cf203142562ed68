# Fuzzing (libFuzzer + ASan + UBSan) of the parsers that see untrusted input,
# and the unit tests under ASan/UBSan (LeakSanitizer on) and under valgrind.
#   make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="ingest conf json sqs awserr sigv4"]
#   make check-asan-unit
#   make check-valgrind-unit
# Seeds are t/fuzz/<target>/ (committed); new corpus entries go to
# $(BUILD)/fuzz/corpus/<target>/ and crashes to $(BUILD)/fuzz/artifacts/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= ingest conf json sqs awserr sigv4
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined $(WARN) $(APR_CFLAGS) -Iinclude
FUZZ_RUNOPTS ?= -timeout=10 -max_len=4096 -print_final_stats=1

# Each target links only the core files it exercises (others may be mid-edit).
FUZZ_SRC_json   := src/dsf_json.c src/dsf_util.c
FUZZ_SRC_ingest := src/dsf_ingest.c src/dsf_json.c src/dsf_util.c
FUZZ_SRC_conf   := src/dsf_conf.c src/dsf_util.c
FUZZ_DICT_json   := t/fuzz/json.dict
FUZZ_DICT_ingest := t/fuzz/json.dict
FUZZ_DICT_conf   := t/fuzz/conf.dict

FUZZ_BIN := $(patsubst %,$(BUILD)/fuzz/bin/fuzz_%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build check-asan-unit check-valgrind-unit

define fuzz_rule
$(BUILD)/fuzz/bin/fuzz_$(1): t/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(CORE_HDR)
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $$< $(FUZZ_SRC_$(1)) $(APR_LIBS) -ljansson
endef
$(foreach t,ingest conf json,$(eval $(call fuzz_rule,$(t))))

# Parsers of AWS's answers and the SigV4 canonicalizer (issue 4): they sit on
# the HTTP and signing code, so they link curl and OpenSSL too.
FUZZ_AWS_SRC       := src/dsf_aws.c src/dsf_http.c src/dsf_sigv4.c src/dsf_creds.c src/dsf_stats.c \
                      src/dsf_json.c src/dsf_util.c
FUZZ_SRC_sqs       := src/dsf_sqs.c $(FUZZ_AWS_SRC)
FUZZ_SRC_awserr    := $(FUZZ_AWS_SRC)
FUZZ_SRC_sigv4     := src/dsf_sigv4.c src/dsf_util.c
define fuzz_rule_aws
$(BUILD)/fuzz/bin/fuzz_$(1): t/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)) $(CORE_HDR)
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ $$< $(FUZZ_SRC_$(1)) $(APR_LIBS) $(LIBS)
endef
$(foreach t,sqs awserr sigv4,$(eval $(call fuzz_rule_aws,$(t))))

fuzz-build: $(FUZZ_BIN)

# Runs every target for FUZZ_SECONDS, full log in $(BUILD)/fuzz/<target>.log;
# stops at the first finding (non-zero exit, the reproducer in artifacts/).
fuzz: $(FUZZ_BIN)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/artifacts; \
	    dict=t/fuzz/$$t.dict; [ -f $$dict ] || dict=t/fuzz/json.dict; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS)s (log: $(BUILD)/fuzz/$$t.log)"; \
	    rc=0; $(BUILD)/fuzz/bin/fuzz_$$t $(FUZZ_RUNOPTS) -max_total_time=$(FUZZ_SECONDS) \
	        -dict=$$dict -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t- \
	        $(BUILD)/fuzz/corpus/$$t t/fuzz/$$t >$(BUILD)/fuzz/$$t.log 2>&1 || rc=$$?; \
	    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|Done [0-9]+ runs)|(ERROR|runtime error|SUMMARY|Test unit written)' \
	        $(BUILD)/fuzz/$$t.log || true; \
	    if [ $$rc -ne 0 ]; then echo "fuzz_$$t: FINDING (exit $$rc)"; exit $$rc; fi; \
	done

# --- unit tests under sanitizers ------------------------------------------
SAN_CC     ?= clang
SAN_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined $(WARN) $(APR_CFLAGS) -Iinclude $(EXTRA_CFLAGS)
SAN_OBJ    := $(patsubst src/%.c,$(BUILD)/asan/core/%.o,$(CORE_SRC))
SAN_BIN    := $(patsubst t/unit/%.c,$(BUILD)/asan/unit/%,$(UNIT_SRC))
.SECONDARY: $(SAN_OBJ)

$(BUILD)/asan/core/%.o: src/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -c -o $@ $<

$(BUILD)/asan/unit/%: t/unit/%.c t/unit/tap.h $(SAN_OBJ)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_CFLAGS) -It/unit -o $@ $< $(SAN_OBJ) $(APR_LIBS) $(LIBS) $(EXTRA_LDFLAGS)

check-asan-unit: $(SAN_BIN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    prove -f $(SAN_BIN)

# The plain unit binaries, each under valgrind: any error or leak fails it.
check-valgrind-unit: $(UNIT_BIN)
	prove -f -e 'valgrind -q --error-exitcode=1 --leak-check=full' $(UNIT_BIN)
