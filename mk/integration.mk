# Integration suite: a real httpd (Apache::Test) with the module, in front of
# real emulators (fauxqs, serverless-offline) through SigV4 gates and fault
# proxies, once per MPM. t/rig/suite.sh starts and stops everything by pid,
# also on failure, and ends with the summary.
#   make check-integration                     both MPMs, through the gates
#   make check-integration MPMS=prefork TESTS="t/04_dose.t"
#   make check-integration GATES=auto           without gates until t/rig/gate.js exists
MPMS  ?= event prefork
GATES ?= on
TESTS ?=

.PHONY: check-integration
check-integration: all status-deps
	MPMS="$(MPMS)" GATES="$(GATES)" APXS="$(APXS)" HTTPD="$(HTTPD)" \
	    t/rig/suite.sh -apxs $(APXS) -httpd $(HTTPD) $(TESTS)
