-- README.md's runnable blocks, run as written against the mock API.
--
-- A block is runnable when the line before its opening fence is the comment
-- `<!-- runnable: KIND -->`; other blocks are illustrations (the install
-- block has a marker of its own: install_spec.lua runs it). KIND is one of:
--
--   lua    The lua blocks, in README order, are one program, as a reader takes
--          them (a later block uses the `client` an earlier one made). Every
--          interpreter (lua5.1 to luajit) runs it from a file named README.md
--          with each line at its README line number, so an error reads
--          `README.md:LINE:`; it must run to its end and exit 0.
--   sh     Run by `sh -e`, in README order, in one sandbox: a copy of the
--          checkout (its build/<lua>/ modules included, so `make` finds them
--          made) as the working directory, an empty HOME and TMPDIR there;
--          after the Install section's `eval "$(luarocks ... path)"`, as in
--          the shell of a reader who followed it (Lua 5.4's LUA_CPATH set).
--   nginx  A complete nginx configuration, saved in the sandbox as the file
--          its header names and started with the command the header gives,
--          `nginx -p "$PWD" -c zavu-nginx.conf` (only its `listen 127.0.0.1:8080`
--          becomes a free port). A DELETE must delete the session on the mock,
--          a GET must answer 405 and send nothing; `-s quit` stops it. Run
--          as root, it is also run as nobody, as most users are not root.
--          examples/openresty/nginx.conf, where the README sends production
--          users, is run the same way, with the commands at its top.
--   nvim   A Neovim init.lua, run by headless Neovim (`-u`) in the sandbox,
--          after the sh blocks before it (they install what it uses: run
--          the whole file, a --filter that leaves them out fails it).
--          `:checkhealth zavu` must be found and report no ERROR, `:help zavu`
--          must open, and zavu.nvim must delete a session on the mock.
--
-- Every block gets the environment "The mock API, by hand" tells a user to set:
-- ZAVUDEV_BASE_URL at the mock and a zv_live_ key of its own; none of the
-- suite's LUA_PATH or LUA_CPATH (the lua program gets this checkout's lua/ and
-- build/<lua>/, as "Plain Lua" shows).
local H = require "spec.helper"
local cjson = require "cjson"

local LUAS = { "lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit" }
local KINDS = { lua = true, sh = true, nginx = true, nvim = true }

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- { kind, first (README line of the block's first line), lines = { ... } } in README order.
local function runnable_blocks(readme)
  local lines, blocks = {}, {}
  for line in (readme .. "\n"):gmatch("(.-)\n") do
    lines[#lines + 1] = line
  end
  local i = 1
  while i <= #lines do
    local kind = lines[i]:match("^<!%-%- runnable: (%S+) %-%->$")
    if kind then
      assert(KINDS[kind], ("README.md:%d: unknown runnable kind %q"):format(i, kind))
      assert(
        (lines[i + 1] or ""):match("^```%a+$"),
        ("README.md:%d: the runnable marker is not followed by a fence"):format(i)
      )
      local block = { kind = kind, first = i + 2, lines = {} }
      local j = i + 2
      while lines[j] and lines[j] ~= "```" do
        block.lines[#block.lines + 1] = lines[j]
        j = j + 1
      end
      assert(lines[j], ("README.md:%d: the block never closes"):format(i + 1))
      blocks[#blocks + 1] = block
      i = j
    end
    i = i + 1
  end
  return blocks
end

local function text(block) return table.concat(block.lines, "\n") .. "\n" end

-- The environment of a user who followed the README: nothing of the suite's.
local CLEAN = "env -u LUA_PATH -u LUA_CPATH -u LUA_INIT -u ZAVU_LUA -u ZAVUDEV_LOG "
  .. "-u LUA_PATH_5_2 -u LUA_CPATH_5_2 -u LUA_PATH_5_3 -u LUA_CPATH_5_3 -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "
-- What the Install section leaves in its reader's shell: Lua 5.4's LUA_PATH and LUA_CPATH.
local INSTALLED = 'eval "$(luarocks --lua-version=5.4 --local path)"\n'
local function mock_env(key) return ("ZAVUDEV_BASE_URL=%s ZAVUDEV_API_KEY=%s "):format(H.http_url, key) end

local blocks = runnable_blocks(read(H.root .. "/README.md"))

-- The HTTP status nginx on port answers to METHOD /sessions/id.
local function status_of(method, port, id)
  local out = H.sh(
    ("curl -s -o /dev/null --max-time 10 -X %s -w '%%{http_code}' http://127.0.0.1:%d/sessions/%s"):format(
      method,
      port,
      id
    )
  )
  return tonumber(out)
end

-- Waits for nginx to remove its pid file (it has exited).
local function gone(pid_file) H.sh(("for i in $(seq 50); do [ -f %s ] || break; sleep 0.1; done"):format(pid_file)) end

-- The nginx block, saved in dir and started there as its header says (by
-- `as`, a command prefix such as runuser's, if given), against the mock.
local function exercise_nginx_block(block, dir, env, as)
  local conf = text(block)
  local start = 'nginx -p "$PWD" -c zavu-nginx.conf'
  assert.matches(start, conf, 1, true)
  local port = H.free_port()
  local n
  conf, n = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
  assert.are.equal(1, n, "the block listens on 127.0.0.1:8080 once")
  write(dir .. "/zavu-nginx.conf", conf)
  local run = ("cd %s && %s timeout 10 %s"):format(dir, env, as or "")
  local _, err, status = H.sh(run .. start)
  assert(status == 0, "nginx did not start: " .. err)
  local doomed, kept = "readme-del-" .. H.nonce(), "readme-get-" .. H.nonce()
  local deleted, got = status_of("DELETE", port, doomed), status_of("GET", port, kept)
  local _, qerr, qstatus = H.sh(run .. start .. " -s quit")
  gone(dir .. "/build/nginx.pid")
  local log = io.open(dir .. "/build/nginx-error.log")
  local log_text = log and log:read("*a") or ""
  if log then log:close() end
  assert.are.equal(204, deleted, log_text)
  assert.are.equal("DELETE", H.info(doomed).method)
  assert.are.equal(1, H.info(doomed).hits)
  assert.are.equal(405, got)
  assert.are.same({}, H.info(kept)) -- nothing was sent for it
  assert(qstatus == 0, "nginx -s quit: " .. qerr)
end

describe("README.md's runnable blocks", function()
  local sandbox, env

  setup(function()
    sandbox = os.tmpname()
    os.remove(sandbox)
    -- The working tree as it is (committed or not), and the modules make built.
    local out, err, status = H.sh(([[
        mkdir -p %s/home %s/tmp && cd %s &&
        git ls-files --cached --others --exclude-standard | while IFS= read -r f; do [ -e "$f" ] && echo "$f"; done |
          tar -cf - -T - | tar -xf - -C %s &&
        for l in %s; do [ -d build/$l ] && mkdir -p %s/build && cp -a build/$l %s/build/; done; true
      ]]):format(sandbox, sandbox, H.root, sandbox, table.concat(LUAS, " "), sandbox, sandbox))
    assert(status == 0, out .. err)
    env = ("%s HOME=%s TMPDIR=%s %s"):format(
      CLEAN,
      sandbox .. "/home",
      sandbox .. "/tmp",
      mock_env("zv_live_readme_" .. H.nonce())
    )
  end)

  teardown(function()
    if not sandbox then return end
    -- Whatever nginx a failed block left running in the sandbox (a mock, the example).
    H.sh(("for p in $(find %s -name '*.pid' 2>/dev/null); do kill $(cat $p) 2>/dev/null; done"):format(sandbox))
    H.sh(("sleep 0.3; rm -rf %q"):format(sandbox))
  end)

  it("mark blocks of every kind, each followed by a fenced block", function()
    local seen = {}
    for _, b in ipairs(blocks) do
      seen[b.kind] = (seen[b.kind] or 0) + 1
    end
    for kind in pairs(KINDS) do
      assert.is_truthy(seen[kind], "README.md marks no runnable " .. kind .. " block")
    end
  end)

  it('name every misbehaving id of the mock in "The mock API, by hand"', function()
    local readme, missing = read(H.root .. "/README.md"), {}
    for name in read(H.root .. "/spec/mock/zavu_mock.lua"):gmatch("\nscenarios%.(%w+) = function") do
      if not readme:find("`" .. name .. "-", 1, true) then missing[#missing + 1] = name end
    end
    assert.are.same({}, missing)
  end)

  it('name the mock\'s controls in "The mock API, by hand"', function()
    local readme = read(H.root .. "/README.md")
    for _, route in ipairs { "/_mock/inbound", "/_mock/settings", "/_mock/deliveries/" } do
      assert.is_truthy(readme:find("`POST " .. route, 1, true) or readme:find("`GET " .. route, 1, true), route)
    end
  end)

  it("make demo runs the whole loop: receipts and an inbound message printed by the receiver", function()
    local out, err, status = H.sh("cd " .. H.root .. " && timeout 120 make demo")
    assert.are.equal(0, status, out .. err)
    for _, line in ipairs {
      "status:      ready",
      "receiver: message.queued ",
      "receiver: message.sent ",
      "receiver: message.delivered ",
      "receiver: message.read ",
      "receiver: message.inbound evt_",
      "deleted session ",
      "demo: every step ended as shown",
    } do
      assert.is_truthy(out:find(line, 1, true), "make demo printed no " .. line)
    end
  end)

  -- The lua blocks, one program, on every interpreter.
  local program = {}
  local last = 0
  for _, b in ipairs(blocks) do
    if b.kind == "lua" then
      for k, line in ipairs(b.lines) do
        program[b.first + k - 1] = line
        last = b.first + k - 1
      end
    end
  end
  for n = 1, last do
    program[n] = program[n] or ""
  end
  program[last + 1] = 'io.write("the README\'s Lua blocks ran to the end\\n")'
  local source = table.concat(program, "\n") .. "\n"

  for _, lua in ipairs(LUAS) do
    it("lua: run as one program by " .. lua .. ", against the mock", function()
      local dir = sandbox .. "/lua-" .. lua
      assert(os.execute("mkdir -p " .. dir))
      write(dir .. "/README.md", source)
      local paths = ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/build/%s/?.so;;' "):format(
        H.root,
        H.root,
        H.root,
        lua
      )
      local out, err, status = H.sh(
        ("cd %s && %s %s timeout 50 %s README.md"):format(
          dir,
          env:gsub("ZAVUDEV_API_KEY=%S+", "ZAVUDEV_API_KEY=zv_live_readme_" .. lua .. H.nonce()),
          paths,
          lua
        )
      )
      assert(status == 0, lua .. " failed on the README's Lua blocks:\n" .. out .. err)
      assert.matches("the README's Lua blocks ran to the end\n", out, 1, true)
    end)
  end

  -- The sh, nginx and nvim blocks, in README order, in the sandbox.
  for _, b in ipairs(blocks) do
    local where = ("README.md:%d"):format(b.first)
    if b.kind == "sh" then
      it("sh: " .. where .. " runs as written", function()
        local script = sandbox .. "/tmp/block-" .. b.first .. ".sh"
        write(script, INSTALLED .. text(b))
        local out, err, status = H.sh(("cd %s && %s timeout 55 sh -e %s"):format(sandbox, env, script))
        assert(status == 0, where .. " failed (exit " .. tostring(status) .. "):\n" .. text(b) .. out .. err)
      end)
    elseif b.kind == "nginx" then
      it(
        "nginx: " .. where .. " starts as its header says, deletes on DELETE only",
        function() exercise_nginx_block(b, sandbox, env) end
      )
      -- Most users are not root: nginx then writes nowhere but where the block says.
      if H.sh("id -u") == "0\n" then
        it("nginx: " .. where .. " does the same for a user who is not root (nobody)", function()
          local dir = sandbox .. "/as-nobody"
          local _, err, status = H.sh(
            ("mkdir -p %s/build && cp -a %s/lua %s/ && cp -a %s/build/luajit %s/build/ && chown -R nobody %s"):format(
              dir,
              sandbox,
              dir,
              sandbox,
              dir,
              dir
            )
          )
          assert(status == 0, err)
          exercise_nginx_block(b, dir, env, "runuser -u nobody -- ")
        end)
      end
    elseif b.kind == "nvim" then
      it("nvim: " .. where .. " as init.lua finds :checkhealth zavu, :help zavu and zavu.nvim", function()
        local init, check, result =
          sandbox .. "/tmp/init-" .. b.first .. ".lua", sandbox .. "/tmp/check.lua", sandbox .. "/tmp/result.json"
        write(init, text(b))
        local id = "readme-nvim-" .. H.nonce()
        write(
          check,
          ([[
          local out = {}
          local ok, msg = pcall(function()
            vim.cmd("checkhealth zavu")
            out.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
            vim.cmd("bwipeout!")
            local doc = vim.api.nvim_get_runtime_file("doc/zavu.txt", false)[1]
            out.doc = doc
            vim.cmd("helptags " .. vim.fn.fnamemodify(doc, ":h"))
            vim.cmd("help zavu")
            out.help = vim.fn.expand("%%:t")
            vim.cmd("helpclose")
            require("zavu.nvim").sessions.delete(%q, function(done, err)
              out.deleted, out.err = done, err and tostring(err)
            end)
            vim.wait(10000, function() return out.deleted ~= nil or out.err ~= nil end, 10)
          end)
          out.lua_error = not ok and tostring(msg) or nil
          local f = io.open(%q, "w")
          f:write(vim.fn.json_encode(out))
          f:close()
          vim.cmd("qa!")
        ]]):format(id, result)
        )
        local _, err, status = H.sh(
          ("cd %s && %s timeout 30 nvim --headless -i NONE -u %s -c 'luafile %s'"):format(sandbox, env, init, check)
        )
        assert(status == 0, "nvim failed: " .. err)
        local out = cjson.decode(read(result))
        assert(out.lua_error == nil, out.lua_error)
        local report = table.concat(out.health, "\n")
        assert.matches("\nzavu: ", report, 1, true)
        assert.is_nil(report:find("No healthcheck found", 1, true), report)
        assert.is_nil(report:find("ERROR", 1, true), report)
        assert.matches("OK: zavu.core " .. require("zavu").VERSION .. " loads into Neovim's LuaJIT", report, 1, true)
        assert.matches(sandbox .. "/home/.luarocks/lib/lua/5.1/zavu/core.so)", report, 1, true) -- the rock's
        assert.matches("OK: a worker thread loads zavu", report, 1, true)
        assert.matches("^" .. sandbox:gsub("%p", "%%%0") .. "/home/", out.doc)
        assert.are.equal("zavu.txt", out.help)
        assert.is_true(out.deleted, out.err)
        assert.are.equal("DELETE", H.info(id).method)
      end)
    end
  end

  -- The README's first command, from that same shell: the life cycle it shows, to its end.
  it("make demo runs as written, exit 0", function()
    local script = sandbox .. "/tmp/demo.sh"
    write(script, INSTALLED .. "make demo\n")
    local out, err, status = H.sh(("cd %s && %s timeout 55 sh -e %s"):format(sandbox, env, script))
    assert(status == 0, "make demo failed (exit " .. tostring(status) .. "):\n" .. out .. err)
    assert.matches("\ndeleted session ", out, 1, true)
  end)

  -- The README sends production users to the example: it runs as its header says.
  it("examples/openresty/nginx.conf starts with the commands at its top, deletes on DELETE only", function()
    local path = sandbox .. "/examples/openresty/nginx.conf"
    local conf = read(path)
    local commands = {}
    for command in conf:gmatch("\n#   ([^\n]+)") do
      commands[#commands + 1] = command
    end
    assert.are.equal("mkdir -p examples/openresty/logs", commands[1])
    assert.are.equal('nginx -p "$PWD/examples/openresty" -c nginx.conf', commands[2]:match("nginx .*$"))
    local port = H.free_port()
    local n
    conf, n = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    assert.are.equal(1, n)
    write(path, conf)
    local script = sandbox .. "/tmp/example.sh"
    write(script, commands[1] .. "\n" .. commands[2] .. "\n")
    local run = ("cd %s && %s timeout 10 sh -e "):format(sandbox, env)
    local _, err, status = H.sh(run .. script)
    assert(status == 0, "the example did not start: " .. err)
    local doomed, kept = "example-del-" .. H.nonce(), "example-get-" .. H.nonce()
    local deleted, got = status_of("DELETE", port, doomed), status_of("GET", port, kept)
    write(script, commands[2] .. " -s quit\n")
    local _, qerr, qstatus = H.sh(run .. script)
    gone(sandbox .. "/examples/openresty/logs/nginx.pid")
    assert.are.equal(200, deleted, read(sandbox .. "/examples/openresty/logs/error.log"))
    assert.are.equal("DELETE", H.info(doomed).method)
    assert.are.equal(405, got)
    assert.are.same({}, H.info(kept))
    assert(qstatus == 0, "nginx -s quit: " .. qerr)
  end)
end)
