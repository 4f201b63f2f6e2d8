-- luacheck (make lint): each Lua file is checked against the world it runs in.
-- The library runs on Lua 5.1-5.4 and LuaJIT, so "max" (every interpreter's
-- globals: unpack, loadstring, jit...) is the base; nginx's Lua module, Neovim
-- and busted add theirs where their code lives. Layout (line length included)
-- is StyLua's business: see .stylua.toml.
std = "max"
max_line_length = false
codes = true

-- Neovim's `vim`: read-only, except the option and variable tables plugins set.
local writable = { read_only = false, other_fields = true }
local vim = {
  other_fields = true,
  fields = { g = writable, b = writable, w = writable, t = writable, o = writable, bo = writable, wo = writable,
    go = writable, opt = writable, env = writable },
}

-- nginx's Lua module: luacheck's `ngx` (ngx.status, ngx.header, ngx.ctx are
-- written), on LuaJIT, plus what lua-nginx-module added after luacheck's list.
stds.ngx_more = { read_globals = { ngx = { fields = { run_worker_thread = {} } } } }
files["lua/zavu/openresty.lua"] = { std = "max+ngx_lua+ngx_more" }
files["lua/zavu/openresty"] = { std = "max+ngx_lua+ngx_more" }
files["spec/mock"] = { std = "max+ngx_lua+ngx_more" }
files["examples/openresty"] = { std = "max+ngx_lua+ngx_more" }

files["lua/zavu/nvim.lua"] = { read_globals = { vim = vim } }
files["lua/zavu/health.lua"] = { read_globals = { vim = vim } }
files["examples/nvim"] = { read_globals = { vim = vim } }

files["spec"] = { std = "max+busted" }
-- Code that the host specs send to a headless Neovim or to nginx.
files["spec/hosts/nvim_spec.lua"] = { std = "max+busted", read_globals = { vim = vim } }
files["spec/hosts/openresty_spec.lua"] = { std = "max+busted+ngx_lua+ngx_more" }

-- A wrk script (scripts/soak): wrk's hooks and the per-thread globals it reads back.
files["bench/soak_wrk.lua"] = {
  globals = { "setup", "init", "request", "response", "done", "id", "share", "sent", "answered", "statuses", "done_file" },
  read_globals = { "wrk" },
}

-- types/: LuaLS definitions (generated), whose functions are empty stubs.
files["types"] = { ignore = { "212", "241" } }

-- wrk's script: the functions wrk calls, its table, and what setup() gave each thread.
files["bench/wrk_webhook.lua"] = { globals = { "setup", "init", "request" }, read_globals = { "wrk", "thread_number" } }

-- bin/zavu is a sh/Lua polyglot: `_=[[ ...sh... ]]` hides the shell part from Lua.
files["bin/zavu"] = { globals = { "_" } }
