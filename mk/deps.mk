# `make deps`: what a fresh Debian bookworm machine lacks. As root, missing
# apt packages are installed (one `apt-get update`); dpkg-query first, so a
# set-up machine pays nothing. Then the test rig's npm packages, when
# t/rig/node_modules is missing or older than package-lock.json.
APT_PACKAGES := apache2 apache2-dev libcurl4-openssl-dev libssl-dev libjansson-dev \
                libapache2-mod-perl2 libwww-perl wrk clang libclang-rt-14-dev valgrind \
                curl ca-certificates

.PHONY: deps deps-apt deps-npm
deps: deps-apt deps-npm

deps-apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "deps: installing$$missing"; \
	        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	    else \
	        echo "deps: missing packages:$$missing (run 'make deps' as root, or: sudo apt-get install$$missing)"; \
	        exit 1; \
	    fi; \
	fi
	@v=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0); \
	if [ "$$v" -lt 20 ]; then \
	    echo "deps: Node.js $$v found; the test rig (fauxqs) needs Node.js >= 20 (Debian bookworm ships 18: use NodeSource or nvm)"; \
	    exit 1; \
	fi

t/rig/node_modules/.package-lock.json: t/rig/package-lock.json t/rig/package.json
	npm ci --prefix t/rig --no-audit --no-fund
	@touch $@

deps-npm: t/rig/node_modules/.package-lock.json
