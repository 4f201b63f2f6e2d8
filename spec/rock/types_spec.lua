-- The LuaLS definitions in types/ are made by scripts/gen-types from
-- doc/api.lua and lua/zavu/operations.lua. They must be fresh, and every
-- function the modules and their clients export must have one: a new
-- export, method or operation without a description fails here.
local H = require "spec.helper"

local W = require "spec.support.types_walk"
local members_of, walk, reverse, none, camel = W.members_of, W.walk, W.reverse, W.none, W.camel
local api = dofile(H.root .. "/doc/api.lua")

describe("the LuaLS definitions", function()
  it("are what scripts/gen-types makes from doc/api.lua and the operations", function()
    local out, err, status = H.sh(("cd %q && %s scripts/gen-types --check"):format(H.root, H.lua))
    assert.are.equal(0, status, out .. err)
  end)

  it("are Lua meta files that load on 5.1 and 5.4", function()
    for _, path in ipairs { "types/zavu.lua", "types/zavu/openresty.lua", "types/zavu/nvim.lua", "types/zavu/core.lua" } do
      local module = path:gsub("^types/", ""):gsub("%.lua$", ""):gsub("/", ".")
      local f = assert(io.open(H.root .. "/" .. path))
      assert.are.equal("---@meta " .. module, f:read("*l"))
      f:close()
      for _, lua in ipairs { "lua5.1", "lua5.4" } do
        local out, err, status =
          H.sh(("%s -e 'assert(type(dofile(%q)) == \"table\")'"):format(lua, H.root .. "/" .. path))
        assert.are.equal(0, status, path .. " on " .. lua .. ": " .. out .. err)
      end
    end
  end)

  it("cover zavu: the module, the default client and a client's every function", function()
    local defs = members_of("types/zavu.lua")
    local zavu = require "zavu"
    local missing = {}
    walk(defs, zavu, "zavu", "zavu", api.modules.zavu.internal or {}, missing)
    local client = zavu.new { api_key = H.key, base_url = H.http_url }
    walk(defs, client, "zavu.Client", "zavu", { handle = true }, missing)
    none(missing, "exported without a definition in types/zavu.lua")
    none(reverse(defs, "zavu.Client", client), "defined but not on a client")
    none(reverse(defs, "zavu.Sessions", client.sessions), "defined but not on client.sessions")
    none(reverse(defs, "zavu.EgressNodes", client.egress_nodes), "defined but not on client.egress_nodes")
    local module_functions = {}
    for k, v in pairs(zavu) do
      module_functions[k] = v
    end
    none(reverse(defs, "zavu", module_functions), "defined but not in the module")
    client.close()
  end)

  it("name every method of zavu.METHODS on each host's client", function()
    local zavu = require "zavu"
    for _, host in ipairs {
      { "types/zavu.lua", "zavu" },
      { "types/zavu/openresty.lua", "zavu.openresty" },
      { "types/zavu/nvim.lua", "zavu.nvim" },
    } do
      local defs = members_of(host[1])
      for _, name in ipairs(zavu.METHODS) do
        local resource, method = name:match("^(.-)%.?([^.]+)$")
        local class = resource == "" and host[2] .. ".Client" or host[2] .. "." .. camel(resource)
        assert(defs[class] and defs[class][method] == "function", host[1] .. " has no " .. class .. "." .. method)
      end
    end
  end)

  it("cover zavu.openresty and zavu.nvim, loaded outside their hosts (in LuaJIT)", function()
    -- zavu.nvim dumps functions for libuv's threads: it loads on LuaJIT (and
    -- 5.1) only. Just enough of each host for the modules to load and make clients.
    local script = [==[
      local W = require "spec.support.types_walk"
      local api = dofile(W.root .. "/doc/api.lua")
      local key, url = ...
      rawset(_G, "ngx", {})
      local noop = function() end
      rawset(_G, "vim", {
        uv = {}, schedule = noop, in_fast_event = function() return false end,
        api = { nvim_create_autocmd = noop, nvim_create_augroup = function() return 1 end,
                nvim_get_runtime_file = function() return {} end },
      })
      for _, m in ipairs { { "zavu.openresty", "types/zavu/openresty.lua" }, { "zavu.nvim", "types/zavu/nvim.lua" } } do
        local defs = W.members_of(m[2])
        local module = require(m[1])
        local missing = W.walk(defs, module, m[1], m[1], api.modules[m[1]].internal or {}, {})
        W.walk(defs, module.new { api_key = key, base_url = url }, m[1] .. ".Client", m[1], {}, missing)
        W.none(missing, "exported without a definition in " .. m[2])
      end
      -- and each offers exactly what is defined: no stale definitions
      for _, m in ipairs { "zavu.openresty", "zavu.nvim" } do
        local defs = W.members_of("types/" .. m:gsub("%.", "/") .. ".lua")
        local client = require(m).new { api_key = key, base_url = url }
        W.none(W.reverse(defs, m .. ".Client", client), "defined but not on a " .. m .. " client")
        W.none(W.reverse(defs, m .. ".Sessions", client.sessions), "defined but not on its sessions")
        W.none(W.reverse(defs, m .. ".EgressNodes", client.egress_nodes), "defined but not on its egress_nodes")
      end
      print("walked")
    ]==]
    local file = H.write_tmp(script)
    local out, err, status = H.sh(
      (
        "cd %q && LUA_PATH='%s/?.lua;%s/lua/?.lua;%s/lua/?/init.lua;;' "
        .. "LUA_CPATH='%s/build/luajit/?.so;;' luajit %s %q %q"
      ):format(H.root, H.root, H.root, H.root, H.root, file, H.key, H.http_url)
    )
    os.remove(file)
    assert.are.equal(0, status, out .. err)
    assert.matches("walked", out, 1, true)
  end)

  it("describe every option zavu.new accepts, and each is checked by zavu.check_options", function()
    local zavu = require "zavu"
    local defs = members_of("types/zavu.lua")
    local samples = { ["string?"] = "x", ["number?"] = 5, ["integer?"] = 3, ["boolean?"] = false }
    for _, c in ipairs(api.classes) do
      if c.name == "zavu.Options" then
        for _, f in ipairs(c.fields) do
          assert(defs["zavu.Options"][f[1]])
          -- a value of the declared type passes; a table (a wrong type) raises, naming the option
          local good = samples[f[2]]
          if f[1] == "base_url" then good = H.http_url end
          if f[1] == "api_key" then good = H.key end
          if f[1] == "user_agent" then good = "spec" end
          assert.has_no.errors(function() zavu.check_options { [f[1]] = good } end, f[1])
          local ok, err = pcall(zavu.check_options, { [f[1]] = {} })
          assert.is_false(ok, f[1] .. " accepted a table")
          assert.matches(f[1], tostring(err), 1, true)
        end
      end
    end
  end)
end)
