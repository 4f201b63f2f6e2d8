# zavu-lua: `make` builds for Lua 5.4; `make LUA=lua5.1|lua5.2|lua5.3|lua5.4|luajit`
# builds for that one. The module lands at build/$(LUA)/zavu/core.so.
LUA ?= lua5.4
LUAS := lua5.1 lua5.2 lua5.3 lua5.4 luajit

ifeq ($(LUA),luajit)
LUA_INC ?= /usr/include/luajit-2.1
else
LUA_INC ?= /usr/include/$(LUA)
endif

CC ?= cc
CFLAGS ?= -O2 -g
# Warnings and paths stay even when CFLAGS is given on the command line.
ALL_CFLAGS = $(CFLAGS) -std=c99 -fPIC -Wall -Wextra -Isrc -I$(LUA_INC) $(shell pkg-config --cflags libcurl 2>/dev/null)
ALL_LDFLAGS = $(LDFLAGS) -shared
LIBS = $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl) $(CRYPTO_LIBS) -lm -lpthread
# HMAC-SHA256 for webhook signatures (src/zavu_webhook.c): OpenSSL's libcrypto.
CRYPTO_LIBS = $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

CORE_SRC = src/zavu_client.c src/zavu_delete.c src/zavu_request.c src/zavu_batch.c src/zavu_cancel.c src/zavu_parse.c \
	src/zavu_webhook.c
BINDING_SRC = src/zavu_lua.c src/zavu_lua_options.c src/zavu_lua_client.c src/zavu_lua_errors.c \
	src/zavu_lua_request.c src/zavu_lua_batch.c src/zavu_lua_names.c src/zavu_lua_webhooks.c src/zavu_lua_schema.c src/zavu_lua_body.c
SRC = $(CORE_SRC) $(BINDING_SRC)
HDR = src/zavu_lua_schema.h src/zavu_core.h src/zavu_internal.h src/zavu_cancel.h src/zavu_lua.h src/compat.h src/zavu_webhook.h
MODULE = build/$(LUA)/zavu/core.so
TESTKIT = build/$(LUA)/zavu_testkit.so

.PHONY: all deps demo test $(LUAS:%=test-build-%) bench testkit nvim fuzz fuzz-api asan valgrind threads mutate clean lint format types rockspec dist \
	chaos soak
all: $(MODULE)

$(MODULE): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(SRC) $(LIBS)

# Neovim loads C modules from lua/ on its runtimepath: build/nvim is such a
# directory, holding the module built for LuaJIT (see README, "Neovim").
nvim:
	@$(MAKE) -s --no-print-directory LUA=luajit all
	@mkdir -p build/nvim/lua/zavu
	cp build/luajit/zavu/core.so build/nvim/lua/zavu/core.so

# fork/waitpid for the specs (Debian has no lua-posix for 5.4); not installed.
testkit: $(TESTKIT)
$(TESTKIT): spec/support/zavu_testkit.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# The fault proxy the specs and `make chaos` put between the library and the
# mock (spec/support/faultproxy.c); not installed.
build/faultproxy: spec/support/faultproxy.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c99 -Wall -Wextra -o $@ $<

# Installs what is missing from Debian (as root), or says what to install.
deps:
	@scripts/ensure-deps

demo: deps
	@$(MAKE) -s --no-print-directory LUA=lua5.4 all
	@$(MAKE) -s --no-print-directory LUA=luajit all
	@scripts/demo

# Everything: the suite on every interpreter, the hosts, the rock, the lint, then the
# hardening checks (a short fuzz, ASan+UBSan, valgrind, ThreadSanitizer), side by side
# (scripts/run-tests), ending with how long it took since the builds began (make expands
# a recipe whole before it runs the first line). The builds run two at a time: each
# interpreter's module anew with -Werror, the sanitized ones and the fuzzers.
test: deps
	@$(MAKE) -s --no-print-directory -j2 $(LUAS:%=test-build-%) $(FUZZERS:%=build/fuzz/fuzz_%) build/threads build/faultproxy
	@$(MAKE) -s --no-print-directory nvim
	@ZAVU_TEST_STARTED=$(shell date +%s) FUZZ_SECONDS=10 FUZZ_API_SECONDS=20 FUZZERS="$(FUZZERS)" \
		scripts/run-tests $(LUAS)

# make test's build of one interpreter (lua5.4 and luajit also under ASan+UBSan).
$(LUAS:%=test-build-%): test-build-%:
	@$(MAKE) -B -s --no-print-directory LUA=$* CFLAGS="-O2 -g -Werror" all testkit
	@case $* in lua5.4|luajit) $(MAKE) -s --no-print-directory LUA=$* build/asan/$*/zavu/core.so ;; esac

# ---- hardening: sanitizers, fuzzing, valgrind, threads (see README, "Hardening") ----

# A seeded mix of N calls per interpreter through the fault proxy, checked
# against the mock's record (scripts/chaos; CHAOS_SEED=... replays a run).
N ?= 5000
chaos: deps build/faultproxy
	@for l in lua5.4 luajit; do $(MAKE) -s --no-print-directory LUA=$$l all || exit 1; done
	@scripts/chaos $(N)

# A million ids through delete_many, and an OpenResty worker under wrk while
# nginx reloads: memory and descriptors must stay flat (scripts/soak; not in
# make test; prints its figures, recorded in bench/README.md).
soak: deps
	@for l in lua5.4 luajit; do $(MAKE) -s --no-print-directory LUA=$$l all || exit 1; done
	@scripts/soak

SAN_CC = clang
SAN_FLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc
FUZZERS = headers url request error_body webhook
FUZZ_SECONDS ?= 60

build/fuzz/fuzz_headers: fuzz/fuzz_headers.c src/zavu_parse.c src/zavu_core.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_headers.c src/zavu_parse.c -lcurl -lm
build/fuzz/fuzz_url: fuzz/fuzz_url.c src/zavu_parse.c src/zavu_core.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_url.c src/zavu_parse.c -lcurl -lm
build/fuzz/fuzz_request: fuzz/fuzz_request.c src/zavu_parse.c src/zavu_core.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_request.c src/zavu_parse.c -lcurl -lm
build/fuzz/fuzz_error_body: fuzz/fuzz_error_body.c $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(FUZZ_FLAGS) -I/usr/include/lua5.4 -o $@ fuzz/fuzz_error_body.c $(SRC) -llua5.4 -lcurl $(CRYPTO_LIBS) -lm -lpthread
build/fuzz/fuzz_webhook: fuzz/fuzz_webhook.c src/zavu_webhook.c src/zavu_webhook.h
	@mkdir -p $(dir $@)
	$(SAN_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_webhook.c src/zavu_webhook.c $(CRYPTO_LIBS) -lpthread

# Each harness for FUZZ_SECONDS (make test runs them briefly); fails on any finding.
fuzz: deps $(FUZZERS:%=build/fuzz/fuzz_%)
	@scripts/run-fuzz $(FUZZ_SECONDS) $(FUZZERS)

# The Lua-level fuzzer (fuzz/fuzz_api.lua): random calls, hostile callbacks and
# option tables, collections and coroutines against the mock, FUZZ_API_SECONDS
# per interpreter; "asan:LUA" runs the ASan+UBSan module, "LUA" the plain one.
# A finding prints its seed: FUZZ_API_SEED=... [FUZZ_API_STEPS=...] make fuzz-api
FUZZ_API_SECONDS ?= 60
FUZZ_API_LUAS ?= asan:lua5.4 asan:luajit
fuzz-api: deps
	@for t in $(FUZZ_API_LUAS); do l=$${t#asan:}; \
		$(MAKE) -s --no-print-directory LUA=$$l all || exit 1; \
		if [ "$$t" != "$$l" ]; then $(MAKE) -s --no-print-directory LUA=$$l build/asan/$$l/zavu/core.so || exit 1; fi; \
	done
	@scripts/run-fuzz-api $(FUZZ_API_SECONDS) $(FUZZ_API_LUAS)

# The module with ASan+UBSan, for the interpreters the suite runs it under.
build/asan/$(LUA)/zavu/core.so: $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -shared-libasan -std=c99 -fPIC -Wall -Wextra -Isrc -I$(LUA_INC) -shared -o $@ $(SRC) $(LIBS)

# The API suite on lua5.4 and luajit with that module; fails on any report.
asan: deps
	@for l in lua5.4 luajit; do $(MAKE) -s --no-print-directory LUA=$$l all testkit build/faultproxy build/asan/$$l/zavu/core.so || exit 1; done
	@scripts/run-sanitized asan lua5.4 luajit

# The core of the suite under valgrind, with aggressive garbage collection.
valgrind: deps
	@$(MAKE) -s --no-print-directory LUA=lua5.4 all testkit
	@scripts/run-sanitized valgrind lua5.4

# 4 OS threads, each with its own Lua state and client, under ThreadSanitizer.
build/threads: spec/support/threads.c $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(SAN_CC) -g -O1 -fsanitize=thread -Isrc -I/usr/include/lua5.4 -o $@ spec/support/threads.c $(SRC) -llua5.4 -lcurl $(CRYPTO_LIBS) -lm -lpthread
threads: deps build/threads
	@scripts/run-sanitized threads

# Each bug of mutate/mutants.lua planted in a scratch copy, the specs that
# must catch it run; fails when one survives (not part of make test).
# MUTATE_ARGS="--only NAME --all-luas --keep ..." (see scripts/mutate).
mutate: deps
	@$(LUA) scripts/mutate $(MUTATE_ARGS)

clean:
	rm -rf build

# Speed and memory against raw libcurl and the usual alternatives, the webhook
# verifier beside its floor and the receiver under wrk; see bench/README.md.
bench: deps
	@bench/run

# ---- the house style and the release (see README, "Install", and CHANGELOG.md) ----

# luacheck, StyLua, clang-format, cppcheck and luarocks lint (scripts/lint); make test runs it.
lint: deps
	@scripts/lint

# Rewrite the Lua and C files as StyLua and clang-format want them, then lint.
format: deps
	@scripts/lint --fix

# types/ (LuaLS definitions) from doc/api.lua and lua/zavu/operations.lua.
types:
	@$(LUA) scripts/gen-types

# rockspecs/zavu-<ZAVU_VERSION>-1.rockspec from zavu-scm-1.rockspec.
rockspec:
	@scripts/rockspec

# build/dist: the source tarball and the .src.rock of HEAD, made offline.
dist:
	@scripts/dist
