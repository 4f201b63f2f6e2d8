-- The operations of the WhatsApp Alternative API, one entry each. Every
-- client method - in plain Lua, zavu.openresty and zavu.nvim - is made from
-- this list (see zavu.methods), so one more endpoint is one more entry.
--
--   name    "resource.method" or "method": where it lands on the client
--   method  HTTP method; path: "{name}" parts are the method's first arguments,
--           each sent as exactly one percent-encoded path segment
--   query   the query parameters a table argument may hold (after the path ones)
--   body    "table": a table argument is the JSON body;
--           a string: the next argument is sent as { [body] = value }
--   returns "page" ({ items, nextCursor }), "none" (true), "object" (the
--           body), or a field name whose table is returned ("session")
--   native  a C function of zavu.core does it (the hot path)
local SESSIONS = "/v1/whatsapp-alt/sessions"
local SESSION = SESSIONS .. "/{sessionId}"
local NODES = "/v1/whatsapp-alt/egress-nodes"
local NODE = NODES .. "/{nodeId}"

local operations = {
  { name = "sessions.list", method = "GET", path = SESSIONS, query = { "limit", "cursor" }, returns = "page" },
  { name = "sessions.create", method = "POST", path = SESSIONS, body = "table", returns = "session" },
  { name = "sessions.get", method = "GET", path = SESSION, returns = "session" },
  { name = "sessions.delete", method = "DELETE", path = SESSION, returns = "none", native = "delete" },
  { name = "sessions.set_egress", method = "POST", path = SESSION .. "/egress", body = "egress", returns = "session" },
  { name = "sessions.reconnect", method = "POST", path = SESSION .. "/reconnect", returns = "session" },
  { name = "sessions.logout", method = "POST", path = SESSION .. "/logout", returns = "session" },
  { name = "sessions.link", method = "POST", path = SESSION .. "/link", body = "senderId", returns = "session" },
  { name = "sessions.unlink", method = "POST", path = SESSION .. "/unlink", returns = "session" },
  {
    name = "egress_nodes.list",
    method = "GET",
    path = NODES,
    query = { "senderId", "limit", "cursor" },
    returns = "page",
  },
  { name = "egress_nodes.create", method = "POST", path = NODES, body = "table", returns = "object" },
  { name = "egress_nodes.get", method = "GET", path = NODE, returns = "node" },
  { name = "egress_nodes.delete", method = "DELETE", path = NODE, returns = "none" },
  { name = "egress_nodes.pairing_token", method = "POST", path = NODE .. "/pairing-token", returns = "object" },
  { name = "proxy_status", method = "GET", path = "/v1/whatsapp-alt/proxy-status", returns = "object" },
}

-- live_keys_only: refused locally with a test-mode key (zv_test_...), as the
-- API refuses it: the sandbox has no WhatsApp Alternative.
for _, op in ipairs(operations) do
  if op.path:find("^/v1/whatsapp%-alt/") then op.live_keys_only = true end
end

return operations
