# Credentials provider: unit tests without network (test_creds) and against
# the loopback IMDSv2/container stand-in t/creds/server.js (test_creds_remote).
CREDS_TESTS := $(BUILD)/unit/test_creds $(BUILD)/unit/test_creds_remote

$(BUILD)/unit/test_creds $(BUILD)/unit/test_creds_remote: t/creds/env.h t/creds/server.h

.PHONY: check-creds
check-creds: $(CREDS_TESTS)
	AWS_EC2_METADATA_DISABLED=true prove -f $(CREDS_TESTS)
