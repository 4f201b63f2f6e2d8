-- make dist in a fresh clone: the .src.rock it makes installs with
-- `luarocks build` into an empty tree, offline, for Lua 5.1 and 5.4, and the
-- installed rock works from outside any checkout: the modules (every file
-- of lua/), the zavu command, :help zavu and the LuaLS definitions.
local H = require "spec.helper"

describe("make dist", function()
  local version = require("zavu").VERSION
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute(("mkdir -p %q && git clone -q %q %q/clone"):format(dir, H.root, dir)))
  end)

  teardown(function()
    if dir then H.sh(("rm -rf %q"):format(dir)) end
  end)

  it("makes a tarball, a .src.rock and their checksums from the checkout, offline", function()
    local out, err, status = H.sh(("cd %q/clone && make -s dist"):format(dir))
    assert.are.equal(0, status, out .. err)
    local dist = dir .. "/clone/build/dist/"
    for _, name in ipairs { "zavu-lua-" .. version .. ".tar.gz", "zavu-" .. version .. "-1.src.rock", "SHA256SUMS" } do
      assert.truthy(io.open(dist .. name), name .. " missing")
    end
    local _, _, sums = H.sh(("cd %q && sha256sum -c --quiet SHA256SUMS"):format(dist))
    assert.are.equal(0, sums)
    -- the tarball is the commit: every tracked file under zavu-lua-<version>/
    local listing = H.sh(("tar -tzf %q"):format(dist .. "zavu-lua-" .. version .. ".tar.gz"))
    local tracked = H.sh(("cd %q/clone && git ls-files"):format(dir))
    for file in tracked:gmatch("[^\n]+") do
      assert.matches("\nzavu-lua-" .. version .. "/" .. file .. "\n", "\n" .. listing, 1, true)
    end
  end)

  for _, v in ipairs { "5.1", "5.4" } do
    it(
      "gives a .src.rock that luarocks builds into an empty tree for Lua " .. v .. ", working from anywhere",
      function()
        local rock = ("%s/clone/build/dist/zavu-%s-1.src.rock"):format(dir, version)
        local tree = dir .. "/tree" .. v
        local out, err, status =
          H.sh(("cd %q && luarocks --lua-version=%s --tree=%q build --deps-mode=none %q"):format(dir, v, tree, rock))
        assert.are.equal(0, status, out .. err)

        local rockdir = ("%s/lib/luarocks/rocks-%s/zavu/%s-1/"):format(tree, v, version)
        for _, f in ipairs {
          "types/zavu.lua",
          "types/zavu/openresty.lua",
          "types/zavu/nvim.lua",
          "doc/zavu.txt",
          "autoload/health/zavu.vim",
        } do
          assert.truthy(io.open(rockdir .. f), "the rock has no " .. f)
        end
        -- every Lua file of the checkout's lua/ is installed
        local files = H.sh(("cd %q/clone/lua && find . -name '*.lua'"):format(dir))
        for f in files:gmatch("[^\n]+") do
          assert.truthy(io.open(("%s/share/lua/%s/%s"):format(tree, v, f:sub(3))), f .. " is not installed")
        end

        local paths = ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;'"):format(
          tree,
          v,
          tree,
          v,
          tree,
          v
        )
        local check = H.write_tmp(([[
        local zavu = require "zavu"
        assert(zavu.VERSION == %q, zavu.VERSION)
        local found -- the first zavu/core.so on package.cpath (5.1 has no searchpath)
        for t in package.cpath:gmatch("[^;]+") do
          local f = io.open((t:gsub("%%?", "zavu/core")))
          if f then f:close(); found = t; break end
        end
        assert(found and found:find(%q, 1, true) == 1, "zavu.core not loaded from the tree")
        assert(type(require("zavu.openresty").new) == "function")
        local c = zavu.new { api_key = %q, base_url = %q }
        assert(c.sessions.delete("dist-1") == true)
        assert(#assert(c.sessions.list()).items >= 0)
        print("ok with " .. _VERSION)
      ]]):format(version, tree, H.key, H.http_url))
        local out2, err2, status2 = H.sh(("cd / && %s lua%s %s"):format(paths, v, check))
        os.remove(check)
        assert.are.equal(0, status2, out2 .. err2)
        assert.matches("ok with Lua " .. v, out2, 1, true)

        -- the command, through luarocks' wrapper, with the tree's paths (as `luarocks path --tree` gives them)
        local out3, err3, status3 = H.sh(("cd / && %s %s/bin/zavu --version"):format(paths, tree))
        assert.are.equal(0, status3, out3 .. err3)
        assert.matches("zavu " .. version .. " (zavu-lua; Lua " .. v, out3, 1, true)
      end
    )
  end
end)
