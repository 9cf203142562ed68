# SigV4: AWS's test suite, a differential test against the AWS SDK for
# JavaScript's signer, and the signature gate's self-test.
SIGV4_SUITE ?= ../shared/sigv4-test-suite
SIGV4_CASES := t/sigv4/cases
# Only what the signer needs, so an unrelated core file mid-edit cannot break it.
SIGV4_OBJ   := $(filter %/dsf_sigv4.o %/dsf_util.o %/dsf_json.o,$(CORE_OBJ))
RIG_NODE    := t/rig/node_modules

.PHONY: check-sigv4 check-sigv4-diff check-gate sigv4-tools
# Keep the core objects: make would otherwise delete them as intermediates.
.SECONDARY: $(SIGV4_OBJ)

$(BUILD)/sigv4/%: t/sigv4/%.c t/unit/tap.h $(SIGV4_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -It/unit -o $@ $< $(SIGV4_OBJ) $(APR_LIBS) $(LIBS) $(EXTRA_LDFLAGS)

sigv4-tools: $(BUILD)/sigv4/suite $(BUILD)/sigv4/sign_driver

$(RIG_NODE)/@smithy/signature-v4/package.json:
	npm ci --prefix t/rig

check-sigv4: $(BUILD)/sigv4/suite
	prove -f -e '' $(BUILD)/sigv4/suite :: $(SIGV4_SUITE) $(SIGV4_CASES)

check-sigv4-diff: $(BUILD)/sigv4/sign_driver $(RIG_NODE)/@smithy/signature-v4/package.json
	prove -f -e node t/sigv4/diff.js :: $(BUILD)/sigv4/sign_driver

check-gate: $(BUILD)/sigv4/sign_driver $(RIG_NODE)/@smithy/signature-v4/package.json
	prove -f -e node t/sigv4/gate-test.js :: $(BUILD)/sigv4/sign_driver
