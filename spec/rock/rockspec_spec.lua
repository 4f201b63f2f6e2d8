-- `luarocks make` installs the rock into a fresh tree, and each
-- interpreter then loads it from there and deletes a session.
local H = require "spec.helper"

describe("the rockspec", function()
  for _, v in ipairs { "5.1", "5.4" } do
    it("builds and installs with luarocks for Lua " .. v, function()
      local tree = os.tmpname()
      os.remove(tree)
      local out, err, status = H.sh(
        ("cd %q && luarocks --lua-version=%s --tree=%q make --deps-mode=none zavu-scm-1.rockspec"):format(
          H.root,
          v,
          tree
        )
      )
      H.sh("rm -f " .. H.root .. "/src/*.o") -- luarocks builds in the source tree
      assert.are.equal(0, status, out .. err)
      local script = [[
        local zavu = require "zavu"
        local found -- the first zavu/core.so on package.cpath (5.1 has no searchpath)
        for t in package.cpath:gmatch("[^;]+") do
          local f = io.open((t:gsub("%%?", "zavu/core")))
          if f then f:close(); found = t; break end
        end
        assert(found and found:find(%q, 1, true), "zavu.core not loaded from the tree")
        assert(type(require("zavu.openresty").new) == "function") -- the host modules too
        -- zavu.nvim and zavu.health need Neovim's vim global: installed is enough here
        for _, m in ipairs { "nvim", "health", "operations", "methods", "lifecycle" } do
          assert(io.open(%q .. "/zavu/" .. m .. ".lua"), m .. ".lua not installed"):close()
        end
        local c = zavu.new { api_key = %q, base_url = %q }
        assert(c.sessions.delete("rock-1") == true)
        print("deleted with " .. _VERSION)
      ]]
      local paths = ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;'"):format(
        tree,
        v,
        tree,
        v,
        tree,
        v
      )
      local f = assert(io.open(tree .. "/check.lua", "w"))
      f:write(script:format(tree, ("%s/share/lua/%s"):format(tree, v), H.key, H.http_url))
      f:close()
      local out2, err2, status2 = H.sh(paths .. " lua" .. v .. " " .. tree .. "/check.lua")
      assert.are.equal(0, status2, out2 .. err2)
      assert.matches("deleted with Lua " .. v, out2, 1, true)
      H.sh("rm -rf " .. tree)
    end)
  end
end)
