-- The operations of the WhatsApp Alternative API, one entry each. Every
-- client method - in plain Lua, zavu.openresty and zavu.nvim - is made from
-- this list (see zavu.methods), so one more endpoint is one more entry.
--
--   name     "resource.method" or "method": where it lands on the client
--   method   HTTP method; path: "{name}" parts are the method's first arguments,
--            each sent as exactly one percent-encoded path segment (a string,
--            or a number with exact digits: the rule of every id)
--   query    the query parameters a table argument may hold (after the path
--            ones), as fields (below), sent in this order
--   body     { fields = {...} }: a table argument is the JSON body;
--            { fields = {...}, argument = "senderId" }: the next argument is
--            the value of that one field (link(id, "snd_1"))
--   returns  "page" ({ items, nextCursor }), "none" (true), "object" (the
--            body), or a field name whose table is returned ("session")
--   native   a C function of zavu.core does it (the hot path)
--
-- Fields (of a query, a body, a nested object) are lists, checked in this
-- order by zavu.schema before anything is sent; a key no field names raises.
--   name       the API's name          required  true: it must be given
--   type       the JSON type: "string", "integer", "number", "boolean", "object"
--   min_length, max_length   strings: UTF-8 characters, as the API counts them
--   pattern, means           strings: a Lua pattern, and what it asks in words
--   min, max                 integers and numbers: the range
--   fields                   objects: their own fields (a nested table is checked the same way)
-- Enumerated values (egress.kind, statuses) are not listed: the API grows,
-- the server judges them. (Next to come, for the messaging operations: type
-- "array" with `items` (a field without a name), `nullable` for zavu.null,
-- and `headers`, fields like query's sent as request headers.)
local SESSIONS = "/v1/whatsapp-alt/sessions"
local SESSION = SESSIONS .. "/{sessionId}"
local NODES = "/v1/whatsapp-alt/egress-nodes"
local NODE = NODES .. "/{nodeId}"

local PAGE = { -- every listing's
  { name = "limit", type = "integer", min = 1, max = 100 },
  { name = "cursor", type = "string" },
}

local EGRESS_INPUT = { -- WhatsAppAltEgressInput
  { name = "kind", type = "string", required = true }, -- external, android: the server judges
  { name = "nodeId", type = "string" },
  { name = "country", type = "string", min_length = 2, max_length = 2, pattern = "^%a%a$", means = "2 letters" },
}

local SESSION_CREATE = { -- WhatsAppAltSessionCreateRequest
  { name = "displayName", type = "string", max_length = 200 },
  { name = "egress", type = "object", fields = EGRESS_INPUT },
}

local NODE_CREATE = { -- WhatsAppAltEgressNodeCreateRequest
  { name = "senderId", type = "string", required = true },
  { name = "label", type = "string", max_length = 100 },
}

local NODE_QUERY = { { name = "senderId", type = "string", required = true }, PAGE[1], PAGE[2] }

return {
  { name = "sessions.list", method = "GET", path = SESSIONS, query = PAGE, returns = "page" },
  {
    name = "sessions.create",
    method = "POST",
    path = SESSIONS,
    body = { fields = SESSION_CREATE },
    returns = "session",
  },
  { name = "sessions.get", method = "GET", path = SESSION, returns = "session" },
  { name = "sessions.delete", method = "DELETE", path = SESSION, returns = "none", native = "delete" },
  {
    name = "sessions.set_egress",
    method = "POST",
    path = SESSION .. "/egress",
    body = {
      fields = { { name = "egress", type = "object", required = true, fields = EGRESS_INPUT } },
      argument = "egress",
    },
    returns = "session",
  },
  { name = "sessions.reconnect", method = "POST", path = SESSION .. "/reconnect", returns = "session" },
  { name = "sessions.logout", method = "POST", path = SESSION .. "/logout", returns = "session" },
  {
    name = "sessions.link",
    method = "POST",
    path = SESSION .. "/link",
    body = { fields = { { name = "senderId", type = "string", required = true } }, argument = "senderId" },
    returns = "session",
  },
  { name = "sessions.unlink", method = "POST", path = SESSION .. "/unlink", returns = "session" },
  { name = "egress_nodes.list", method = "GET", path = NODES, query = NODE_QUERY, returns = "page" },
  { name = "egress_nodes.create", method = "POST", path = NODES, body = { fields = NODE_CREATE }, returns = "object" },
  { name = "egress_nodes.get", method = "GET", path = NODE, returns = "node" },
  { name = "egress_nodes.delete", method = "DELETE", path = NODE, returns = "none" },
  { name = "egress_nodes.pairing_token", method = "POST", path = NODE .. "/pairing-token", returns = "object" },
  { name = "proxy_status", method = "GET", path = "/v1/whatsapp-alt/proxy-status", returns = "object" },
}
