-- zavu 0.2.0: made from zavu-scm-1.rockspec by `make rockspec`; edit that file instead.
-- The source is the tarball of `make dist`, which the .src.rock carries: install with
-- `luarocks build zavu-0.2.0-1.src.rock`, or `luarocks install` once it is published.
rockspec_format = "3.0"
package = "zavu"
version = "0.2.0-1"
source = {
  url = "zavu-lua-0.2.0.tar.gz",
  dir = "zavu-lua-0.2.0",
}
description = {
  summary = "The Zavu messaging API for Lua: WhatsApp Alternative sessions and egress nodes, in C over libcurl",
  detailed = [[
    Every operation of Zavu's WhatsApp Alternative API (sessions: list, get, create, wait for
    the QR code and readiness, delete, delete_many, prune; egress nodes; proxy status; any
    endpoint through request) from a small C core over libcurl, with the official SDKs'
    retries and timeouts, on Lua 5.1-5.4 and LuaJIT. Host modules run calls off the event
    loop in OpenResty (zavu.openresty) and Neovim (zavu.nvim); the zavu command drives it
    from a shell. LuaLS type definitions are installed in the rock's types/ directory.
  ]],
  homepage = "https://zavu.dev",
  license = "MIT",
  labels = { "api", "http", "curl", "openresty", "neovim", "whatsapp" },
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
external_dependencies = {
  -- By library: Debian keeps curl/curl.h in a multiarch include directory
  -- that the compiler searches by itself but luarocks' header probe does not.
  CURL = { library = "curl" },
  -- OpenSSL's libcrypto: HMAC-SHA256 for webhook signatures (Debian: libssl-dev).
  CRYPTO = { library = "crypto" },
}
-- The whole suite (it builds the module for every interpreter, starts the
-- mock API and needs Debian's busted, nginx and Neovim): see README, "Tests".
test = {
  type = "command",
  command = "make test",
}
-- Shell completion where bash, zsh and fish look for it under the tree's share/
-- (completions/install.sh; README, "Shell completion").
hooks = {
  post_install = [[sh "$(PREFIX)/completions/install.sh" "$(PREFIX)"]],
}
build = {
  type = "builtin",
  install = { bin = { zavu = "bin/zavu" } },
  -- doc/zavu.txt (:help zavu), types/ (LuaLS definitions) and
  -- autoload/health/zavu.vim (:checkhealth zavu) land in the rock's
  -- directory, `luarocks show --rock-dir zavu`, which Neovim can take on its
  -- runtimepath (README, "Neovim").
  copy_directories = { "doc", "types", "autoload", "completions" },
  modules = {
    ["zavu"] = "lua/zavu/init.lua",
    ["zavu.openresty"] = "lua/zavu/openresty.lua",
    ["zavu.nvim"] = "lua/zavu/nvim.lua",
    ["zavu.health"] = "lua/zavu/health.lua",
    ["zavu.operations"] = "lua/zavu/operations.lua",
    ["zavu.methods"] = "lua/zavu/methods.lua",
    ["zavu.lifecycle"] = "lua/zavu/lifecycle.lua",
    ["zavu.schema"] = "lua/zavu/schema.lua",
    ["zavu.webhooks"] = "lua/zavu/webhooks.lua",
    ["zavu.openresty.webhook"] = "lua/zavu/openresty/webhook.lua",
    ["zavu.core"] = {
      sources = { "src/zavu_client.c", "src/zavu_delete.c", "src/zavu_request.c", "src/zavu_batch.c", "src/zavu_cancel.c", "src/zavu_parse.c", "src/zavu_webhook.c", "src/zavu_lua.c", "src/zavu_lua_options.c", "src/zavu_lua_client.c", "src/zavu_lua_errors.c", "src/zavu_lua_request.c", "src/zavu_lua_batch.c", "src/zavu_lua_names.c", "src/zavu_lua_webhooks.c", "src/zavu_lua_schema.c", "src/zavu_lua_body.c" },
      incdirs = { "src", "$(CURL_INCDIR)", "$(CRYPTO_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(CRYPTO_LIBDIR)" },
      libraries = { "curl", "crypto", "m", "pthread" },
      defines = {},
    },
  },
}
