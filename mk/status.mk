# The status page: HTML in headless Chromium, metrics through a Prometheus
# text parser. Until the glue serves it, t/status/render.c renders it from
# synthetic slots; the scripts take a file or a URL alike.
#   make check-status        render, then browser + metrics tests (TAP)
#   make status-screenshot   refresh t/status/screenshot.png for the README
STATUS_OUT  := $(BUILD)/status
# Only what the renderer needs, so an unrelated core file mid-edit cannot break it.
STATUS_OBJ  := $(filter %/dsf_status.o %/dsf_json.o %/dsf_util.o %/dsf_stats.o,$(CORE_OBJ))
STATUS_NODE := t/status/node_modules
CHROMIUM    ?= /usr/bin/chromium

.PHONY: check-status status-render status-deps status-screenshot

$(BUILD)/status/render: t/status/render.c $(STATUS_OBJ)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STATUS_OBJ) $(APR_LIBS) $(LIBS) $(EXTRA_LDFLAGS)

$(STATUS_NODE)/.package-lock.json: t/status/package.json t/status/package-lock.json
	npm ci --prefix t/status --no-audit --no-fund

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver fonts-dejavu-core

status-deps: $(STATUS_NODE)/.package-lock.json $(CHROMIUM)

status-render: $(BUILD)/status/render
	$(BUILD)/status/render $(STATUS_OUT)

check-status: status-render status-deps
	prove -f -e node t/status/metrics.js :: $(STATUS_OUT)/metrics.txt --expect $(STATUS_OUT)/expect.json \
	    --json $(STATUS_OUT)/status.json
	prove -f -e node t/status/browser.js :: $(STATUS_OUT)/status.html --expect $(STATUS_OUT)/expect.json \
	    --hostile $(STATUS_OUT)/hostile.html --screenshot $(STATUS_OUT)/screenshot.png

status-screenshot: check-status
	cp $(STATUS_OUT)/screenshot.png t/status/screenshot.png
