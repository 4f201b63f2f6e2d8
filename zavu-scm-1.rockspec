rockspec_format = "3.0"
package = "zavu"
version = "scm-1"
source = {
  url = "git+https://github.com/zavudev/zavu-lua.git",
}
description = {
  summary = "Zavu messaging API for Lua: delete WhatsApp Alternative sessions, in C over libcurl",
  detailed = [[
    zavu.sessions.delete(id) calls DELETE /v1/whatsapp-alt/sessions/{id} through a small
    libcurl core, with the official SDKs' retries and timeouts, on Lua 5.1-5.4 and LuaJIT.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
external_dependencies = {
  -- By library: Debian keeps curl/curl.h in a multiarch include directory
  -- that the compiler searches by itself but luarocks' header probe does not.
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  install = { bin = { zavu = "bin/zavu" } },
  modules = {
    ["zavu"] = "lua/zavu/init.lua",
    ["zavu.openresty"] = "lua/zavu/openresty.lua",
    ["zavu.nvim"] = "lua/zavu/nvim.lua",
    ["zavu.health"] = "lua/zavu/health.lua",
    ["zavu.operations"] = "lua/zavu/operations.lua",
    ["zavu.methods"] = "lua/zavu/methods.lua",
    ["zavu.lifecycle"] = "lua/zavu/lifecycle.lua",
    ["zavu.core"] = {
      sources = { "src/zavu_client.c", "src/zavu_delete.c", "src/zavu_request.c", "src/zavu_batch.c", "src/zavu_cancel.c", "src/zavu_parse.c", "src/zavu_lua.c" },
      incdirs = { "src", "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
      libraries = { "curl", "m", "pthread" },
      defines = {},
    },
  },
}
