-- bin/zavu runs from the checkout (any directory, through a symlink, with
-- any interpreter) and installed by luarocks (install.bin), where it uses
-- the installed modules and the rock's interpreter.
local H = require "spec.helper"
local S = require "spec.cli.support"

local KEY = "ZAVUDEV_API_KEY='" .. H.key .. "' ZAVUDEV_BASE_URL='" .. H.http_url .. "' "

-- The rockspec with install.bin, when it lacks it (the modules under lua/
-- are installed by luarocks' builtin backend as they are).
local function rockspec_with_bin()
  local text = assert(io.open(H.root .. "/zavu-scm-1.rockspec")):read("*a")
  if not text:find("bin%s*=") then
    text = text:gsub('build = {\n  type = "builtin",\n', '%0  install = { bin = { zavu = "bin/zavu" } },\n', 1)
  end
  return text
end

describe("bin/zavu", function()
  it("runs from the checkout in another directory, through a symlink", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir " .. dir .. " && ln -s " .. S.zavu .. " " .. dir .. "/zavu")
    local id = S.id()
    local out, err, status = H.sh(
      "cd / && env -u LUA_PATH -u LUA_CPATH ZAVU_LUA=" .. H.lua .. " " .. KEY .. dir .. "/zavu sessions delete " .. id
    )
    os.execute("rm -rf " .. dir)
    assert.are.equal(0, status, err)
    assert.are.equal("deleted session " .. id .. "\n", out)
  end)

  it("is a Lua script too: `" .. H.lua .. " bin/zavu` finds the checkout's modules", function()
    local out, err, status = H.sh("cd / && env -u LUA_PATH -u LUA_CPATH " .. H.lua .. " " .. S.zavu .. " --version")
    assert.are.equal(0, status, err)
    local want = H.lua == "luajit" and "LuaJIT" or ("Lua " .. H.lua:match("%d%.%d"))
    assert.matches(want, out, 1, true)
  end)

  it("picks an interpreter whose module is built when ZAVU_LUA is not set", function()
    local out, err, status = H.sh("env -u ZAVU_LUA " .. S.zavu .. " --version")
    assert.are.equal(0, status, err)
    assert.matches("^zavu ", out)
  end)

  for _, v in ipairs { "5.1", "5.4" } do
    it("is installed by luarocks (install.bin) and runs on the rock's Lua " .. v, function()
      local tree = os.tmpname()
      os.remove(tree)
      assert(os.execute("mkdir " .. tree))
      local spec = tree .. "/zavu-scm-1.rockspec"
      local f = assert(io.open(spec, "w"))
      f:write(rockspec_with_bin())
      f:close()
      local out, err, status =
        H.sh(("cd %q && luarocks --lua-version=%s --tree=%q make --deps-mode=none %q"):format(H.root, v, tree, spec))
      H.sh("rm -f " .. H.root .. "/src/*.o")
      assert.are.equal(0, status, out .. err)
      local paths = ("LUA_PATH='%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua;;' LUA_CPATH='%s/lib/lua/%s/?.so;;'"):format(
        tree,
        v,
        tree,
        v,
        tree,
        v
      )
      local id = S.id()
      out, err, status = H.sh(
        "cd / && env -u ZAVU_LUA "
          .. paths
          .. " "
          .. KEY
          .. tree
          .. "/bin/zavu sessions delete "
          .. id
          .. " && "
          .. paths
          .. " "
          .. tree
          .. "/bin/zavu --version"
      )
      H.sh("rm -rf " .. tree)
      assert.are.equal(0, status, err)
      assert.matches("deleted session " .. id, out, 1, true)
      assert.matches("; Lua " .. v .. ";", out, 1, true)
    end)
  end
end)
