# make bench: the module side by side with the seed's producer and the AWS
# SDK on one fauxqs instance (bench/run.js); about 10 minutes. The table goes
# to stdout and bench/results.md; raw output to bench/out/<time>/.
#   make bench BENCH_QUICK=1   every part briefly (~1 minute), table to bench/out/results-quick.md
# Needs wrk and valgrind (Debian packages, installed here when missing and root).
BENCH_QUICK ?=
BENCH_TOOLS := wrk valgrind

.PHONY: bench bench-tools

bench-tools:
	@missing=""; for t in $(BENCH_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get install -y $$missing || { apt-get update && apt-get install -y $$missing; }; \
	    else echo "bench: please install:$$missing (apt-get install$$missing)"; exit 1; fi; \
	fi
	@[ -f t/rig/node_modules/fauxqs/package.json ] && [ -f t/rig/node_modules/@aws-sdk/client-sqs/package.json ] \
	    || npm ci --prefix t/rig

bench: all bench-tools
	AWS_EC2_METADATA_DISABLED=true BENCH_QUICK=$(BENCH_QUICK) node bench/run.js
