-- Shared by the spec/cli specs: run bin/zavu as a process, on the interpreter
-- of this run (ZAVU_LUA), against the mock.
local H = require "spec.helper"
local cjson = require "cjson"

local S = {}

S.zavu = H.root .. "/bin/zavu"

-- The environment of every run; env adds to it (false removes a variable).
function S.env(env)
  local e = { ZAVUDEV_API_KEY = H.key, ZAVUDEV_BASE_URL = H.http_url, ZAVU_LUA = H.lua }
  for k, v in pairs(env or {}) do
    e[k] = v or nil
  end
  return e
end

-- "env -u ... K='v' ..." with the variables a developer's shell may export
-- (and that change what the command prints) taken away first.
function S.prefix(env)
  return "env -u COLUMNS -u LINES -u NO_COLOR -u ZAVUDEV_LOG -u ZAVU_QRENCODE " .. H.env_prefix(S.env(env))
end

--- Run `zavu <args>` (args: shell words); returns stdout, stderr, exit status.
function S.run(args, env) return H.sh(S.prefix(env) .. S.zavu .. " " .. args) end

--- Run it in a pseudo-terminal of cols x rows (util-linux script); returns
-- everything the terminal got and the exit status. input: text typed.
function S.run_tty(args, cols, rows, env, input)
  local cmd = ("stty cols %d rows %d; exec %s %s %s"):format(cols, rows or 24, S.prefix(env), S.zavu, args)
  local preload = os.getenv("LD_PRELOAD") -- under the asan suite, for the interpreter only
  if preload then cmd = "LD_PRELOAD='" .. preload .. "' " .. cmd end
  local feed = input and ("printf '%s' | "):format(input) or "</dev/null "
  local out, _, status = H.sh(feed .. "env -u LD_PRELOAD script -qec " .. ("%q"):format(cmd) .. " /dev/null")
  return out, status
end

--- The parsed JSON of text (raises on anything else).
function S.json(text) return cjson.decode(text) end

--- A fresh id with a prefix ("missing-...", "slow-300-...").
function S.id(prefix) return (prefix or "cli") .. "-" .. H.nonce() end

--- Shell-quoted.
function S.q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- A fresh API key: the mock keeps each key's sessions apart.
function S.key() return "zv_live_cli_" .. H.nonce() end

--- Run `zavu <args>` with API key `key`.
function S.run_as(key, args, env)
  local e = { ZAVUDEV_API_KEY = key }
  for k, v in pairs(env or {}) do
    e[k] = v
  end
  return S.run(args, e)
end

--- The sessions of key, as `zavu sessions list --json` prints them.
function S.sessions(key)
  local out, err, status = S.run_as(key, "sessions list --json")
  assert(status == 0, err)
  return S.json(out)
end

-- A POST of JSON to a control of the mock; returns the status and body.
local function control(path, body)
  local http, ltn12 = require "socket.http", require "ltn12"
  local text, out = cjson.encode(body), {}
  local _, code = http.request {
    url = H.http_url .. path,
    method = "POST",
    source = ltn12.source.string(text),
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #text },
    sink = ltn12.sink.table(out),
  }
  return code, table.concat(out)
end

--- count sessions for key ({ status, createdAt }), through the mock's seed
-- control (200 or 201, whichever the mock answers).
function S.seed(key, count, opts)
  local body = { key = key, count = count }
  for k, v in pairs(opts or {}) do
    body[k] = v
  end
  local code, text = control("/_mock/seed", body)
  assert(code == 200 or code == 201, "mock seed: " .. tostring(code) .. " " .. text)
end

--- Set a session's state ({ status, lastError }) through the mock's control
-- (/_mock/sessions/<id>/state, or /_mock/state/<id> on an older mock).
function S.set_state(id, fields)
  local code, text = control("/_mock/sessions/" .. H.escape(id) .. "/state", fields)
  if code == 404 and not text:find("session_not_found", 1, true) then
    code, text = control("/_mock/state/" .. H.escape(id), fields)
  end
  assert(code == 200, "mock state: " .. tostring(code) .. " " .. text)
end

--- True when the mock never saw a request for id.
function S.untouched(id) return H.info(id).hits == nil end

return S
