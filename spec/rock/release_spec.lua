-- One version everywhere (ZAVU_VERSION in src/zavu_core.h is the source),
-- and the release files a user or luarocks reads: LICENSE, CHANGELOG.md,
-- the rockspecs (luarocks lint, the versioned one made from the scm one).
local H = require "spec.helper"

local function read(path)
  local f = assert(io.open(H.root .. "/" .. path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local VERSION = read("src/zavu_core.h"):match('#define ZAVU_VERSION "([^"]+)"')

local function rockspec(path) -- the rockspec's table, as luarocks loads it
  local env = {}
  local chunk = assert(loadfile(H.root .. "/" .. path, "t", env))
  chunk()
  return env
end

describe("the release", function()
  it("has one version: ZAVU_VERSION, zavu.VERSION, zavu.core.version, the rockspec and the changelog", function()
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
    assert.are.equal(VERSION, require("zavu").VERSION)
    assert.are.equal(VERSION, require("zavu.core").version)
    local spec = rockspec("rockspecs/zavu-" .. VERSION .. "-1.rockspec")
    assert.are.equal(VERSION .. "-1", spec.version)
    local changelog = read("CHANGELOG.md")
    assert.matches("\n## Unreleased\n", changelog, 1, true)
    assert.matches("\n## " .. VERSION:gsub("%.", "%%.") .. " %- %d%d%d%d%-%d%d%-%d%d\n", changelog)
    -- the newest version in the changelog is this one
    assert.are.equal(VERSION, changelog:match("\n## (%d+%.%d+%.%d+) "))
  end)

  it("has only this version's rockspec in rockspecs/, as scripts/rockspec makes it from the scm one", function()
    local out, err, status = H.sh(("cd %q && scripts/rockspec --check"):format(H.root))
    assert.are.equal(0, status, out .. err)
    local scm, versioned = rockspec("zavu-scm-1.rockspec"), rockspec("rockspecs/zavu-" .. VERSION .. "-1.rockspec")
    for _, field in ipairs { "description", "dependencies", "external_dependencies", "build", "test" } do
      assert.are.same(scm[field], versioned[field], field)
    end
    assert.are.equal("zavu-lua-" .. VERSION .. ".tar.gz", versioned.source.url)
  end)

  it("passes luarocks lint, with a homepage, the MIT license, luarocks test and the zavu command", function()
    for _, path in ipairs { "zavu-scm-1.rockspec", "rockspecs/zavu-" .. VERSION .. "-1.rockspec" } do
      local out, err, status = H.sh(("cd %q && luarocks lint %s"):format(H.root, path))
      assert.are.equal(0, status, path .. ": " .. out .. err)
      local spec = rockspec(path)
      assert.matches("^https://", spec.description.homepage)
      assert.are.equal("MIT", spec.description.license)
      assert.is_string(spec.test.type)
      assert.are.equal("bin/zavu", spec.build.install.bin.zavu)
      assert.are.same({ "doc", "types", "autoload", "completions" }, spec.build.copy_directories)
      assert.matches("completions/install.sh", spec.hooks.post_install, 1, true)
    end
    assert.matches("^MIT License\n", read("LICENSE"))
    assert.truthy(io.open(H.root .. "/bin/zavu"), "bin/zavu (the command the rock installs) is missing")
  end)

  it("names its version in the User-Agent", function()
    local c = H.client { user_agent = "release-spec" }
    local id = "release-ua-" .. H.nonce()
    assert(c.sessions.delete(id))
    assert.matches("zavu-lua/" .. VERSION .. " (", H.info(id).headers["user-agent"], 1, true)
  end)
end)
