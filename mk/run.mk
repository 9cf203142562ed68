# `make run`: starts the emulators and an httpd (own ServerRoot under
# build/run, loopback only) with conf/dosificador.conf adapted to them, posts
# sample objects and shows them released dose by dose; stops everything by
# pid at the end or on Ctrl-C. RUN_SECONDS bounds the watch (default 60).
RUN_SECONDS ?= 60

.PHONY: run
run: all deps-npm
	RUN_SECONDS=$(RUN_SECONDS) HTTPD=$(HTTPD) t/rig/run-demo.sh
