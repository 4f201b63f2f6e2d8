-- README.md's install block, run as a new user would run it: every command
-- of the fenced block under "## Install", verbatim, in one shell, in a fresh
-- clone, with an empty HOME and none of the suite's Lua paths; then the
-- module is used from that install, away from the checkout.
local H = require "spec.helper"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The first ```sh block after the marker comment that names this spec.
local function install_block(readme)
  local at = assert(readme:find("<!-- spec/rock/install_spec.lua runs", 1, true), "README.md: no install marker")
  local block = readme:match("```sh\n(.-)\n```", at)
  assert(block, "README.md: no ```sh block after the install marker")
  return block
end

-- A shell with nothing of the suite's environment that a new user would not have.
local CLEAN = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u LUA_INIT -u LUA_INIT_5_4 "
  .. "-u ZAVUDEV_API_KEY -u ZAVUDEV_BASE_URL -u ZAVUDEV_LOG "

describe("README.md's install commands", function()
  it("work verbatim in a fresh clone with an empty HOME, and the rock works from anywhere", function()
    local version = require("zavu").VERSION
    local block = install_block(read(H.root .. "/README.md"))
    assert.matches("luarocks --lua-version=5.4 --local make --deps-mode=none zavu-scm-1.rockspec", block, 1, true)
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute(("mkdir -p %q/home && git clone -q %q %q/clone"):format(dir, H.root, dir)))
    local script = dir .. "/install.sh"
    local f = assert(io.open(script, "w"))
    f:write(block, "\n")
    f:close()

    local out, err, status = H.sh(("cd %q/clone && %s HOME=%q bash -e %q"):format(dir, CLEAN, dir .. "/home", script))
    assert.are.equal(0, status, "the README's install block failed:\n" .. block .. "\n" .. out .. err)
    assert.matches("\n" .. version .. "\n", "\n" .. out, 1, true)
    assert.matches("zavu " .. version .. " (zavu-lua; Lua 5.4;", out, 1, true)

    -- The module the block installed, in a new shell set up as the block says.
    local check = H.write_tmp(([[
      local zavu = require "zavu"
      local core = package.searchpath("zavu.core", package.cpath)
      assert(core:find(%q, 1, true) == 1, "zavu.core came from " .. core)
      assert(zavu.new({ api_key = %q, base_url = %q }).sessions.delete("install-1") == true)
      print("deleted from " .. core)
    ]]):format(dir .. "/home/.luarocks/", H.key, H.http_url))
    local out2, err2, status2 = H.sh(
      ('cd %q && %s HOME=%q sh -c \'eval "$(luarocks --lua-version=5.4 --local path)" ' .. "&& lua5.4 %s'"):format(
        dir .. "/home",
        CLEAN,
        dir .. "/home",
        check
      )
    )
    os.remove(check)
    assert.are.equal(0, status2, out2 .. err2)
    assert.matches("deleted from " .. dir .. "/home/.luarocks/lib/lua/5.4/zavu/core.so", out2, 1, true)
    H.sh(("rm -rf %q"):format(dir))
  end)
end)

describe("the rock's shell completion", function()
  it("lands where bash, zsh and fish look under the tree's share/, made by the installed command", function()
    local dir = os.tmpname()
    os.remove(dir)
    local tree = dir .. "/tree"
    local out, err, status = H.sh(
      ("mkdir -p %q && cd %q && %s luarocks --lua-version=5.4 --tree %q make --deps-mode=none zavu-scm-1.rockspec"):format(
        dir,
        H.root,
        CLEAN,
        tree
      )
    )
    assert.are.equal(0, status, out .. err)
    local paths = ("LUA_PATH=%q LUA_CPATH=%q "):format(
      tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;",
      tree .. "/lib/lua/5.4/?.so;;"
    )
    for shell, file in pairs {
      bash = "/share/bash-completion/completions/zavu",
      zsh = "/share/zsh/site-functions/_zavu",
      fish = "/share/fish/vendor_completions.d/zavu.fish",
    } do
      local installed = read(tree .. file)
      local printed = H.sh(("%s %s %q completion %s"):format(CLEAN, paths, tree .. "/bin/zavu", shell))
      assert.are.equal(printed, installed, shell)
      assert.matches("sessions", installed, 1, true)
    end
    -- single quotes: the outer sh must leave ${COMPREPLY[@]} to bash
    local words = H.sh(
      "bash -c 'source "
        .. tree
        .. '/share/bash-completion/completions/zavu; COMP_WORDS=(zavu ses); COMP_CWORD=1; _zavu; echo "${COMPREPLY[@]}"\''
    )
    assert.matches("^sessions", words)
    H.sh(("rm -rf %q"):format(dir))
  end)
end)
