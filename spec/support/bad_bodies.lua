-- 2xx bodies that are not what an operation promises, and a call of every
-- method, for the specs that check each body on each method in plain Lua
-- (spec/api/answers_spec.lua), OpenResty and Neovim (spec/hosts).
local M = {}

-- One body every operation would take as its answer: a session, a node, a
-- page of one ready session, the proxy's status. Each bad body is this one
-- with one defect, so the defect alone is what is refused.
local GOOD = '{"session": {"id": "s1", "status": "ready"}, "node": {"id": "n1"}, '
  .. '"items": [{"id": "s1", "status": "ready"}], "zavuProxyAvailable": true%s}'
local function with(defect) return GOOD:format(defect) end

M.GOOD = with ""

M.BAD = {
  ["not JSON"] = '{"session": {"id": "s1"',
  ["NaN"] = with ', "x": NaN',
  ["Infinity"] = with ', "x": Infinity',
  ["a hex number"] = with ', "x": 0x10',
  ["1e999 (inf once decoded)"] = with ', "x": 1e999',
  ["-1e999"] = with ', "x": -1e999',
  ["1e999 deep in an array"] = with ', "x": [1, {"y": [2, 1e999]}]',
  ["an integer of 400 digits"] = with(', "x": ' .. ("9"):rep(400)),
  ["nesting deeper than 64"] = with(', "x": ' .. ("["):rep(65) .. ("]"):rep(65)),
  ["a bare null"] = "null",
}

-- Every method of zavu.METHODS that promises a body: { name, args... },
-- arguments that are fine. (each, which no host offers, is the api spec's.)
M.CALLS = {
  { "sessions.list" },
  { "sessions.all" },
  { "sessions.create", { displayName = "x" } },
  { "sessions.get", "s1" },
  { "sessions.set_egress", "s1", { kind = "external" } },
  { "sessions.reconnect", "s1" },
  { "sessions.logout", "s1" },
  { "sessions.link", "s1", "snd_1" },
  { "sessions.unlink", "s1" },
  { "sessions.wait", "s1", { timeout = 5, interval = 0.05 } },
  { "sessions.prune", { status = "ready", dry_run = true } },
  { "egress_nodes.list", { senderId = "snd_1" } },
  { "egress_nodes.all", { senderId = "snd_1" } },
  { "egress_nodes.create", { senderId = "snd_1" } },
  { "egress_nodes.get", "n1" },
  { "egress_nodes.pairing_token", "n1" },
  { "proxy_status" },
  { "request", "GET", "/v1/whatsapp-alt/proxy-status" },
}

-- The deletes promise no body: whatever a 2xx holds, they are true (ok).
M.DELETES = {
  { "sessions.delete", "s1" },
  { "egress_nodes.delete", "n1" },
  { "sessions.delete_many", { "s1" } },
}

-- client[name] for "resource.method" or "method".
function M.method(client, name)
  local resource, method = name:match("^(.-)%.?([^.]+)$")
  return resource == "" and client[method] or client[resource][method]
end

return M
