# The fault scenarios of issue 4 alone (they also run in check-integration,
# which runs every t/*.t): SQS down during ingest and during a tick, a
# failing receptor, the dispatcher killed mid-tick, ten graceful restarts
# under load, SQS hanging, a backlog of 10,000, and the security checks.
# Each scenario runs its own httpd (t/lib/Faults/Httpd.pm) next to the
# Apache::Test one and checks the delivery invariants (t/lib/Faults/Invariants.pm).
#   make check-faults [MPMS=event] [FAULTS="t/13_fault_kill_dispatcher.t"]
FAULTS ?= $(sort $(wildcard t/1[0-9]_*.t))

.PHONY: check-faults
check-faults: all
	MPMS="$(MPMS)" GATES="$(GATES)" APXS="$(APXS)" HTTPD="$(HTTPD)" \
	    t/rig/suite.sh -apxs $(APXS) -httpd $(HTTPD) $(FAULTS)
