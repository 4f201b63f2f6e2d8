-- The operations of the Zavu API this library has - the WhatsApp Alternative
-- family, messages and senders - one entry each. Every client method - in
-- plain Lua, zavu.openresty and zavu.nvim - is made from this list (see
-- zavu.methods), so one more endpoint is one more entry.
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
--   headers  fields sent as request headers, not in the body ({ name, header,
--            type, ... }): the call's body table holds them beside the body's
--            fields (send), or, when the body is one argument, a table after
--            it does (react(id, emoji, { sender = ... })). A client option of
--            the same name is the default (zavu.new { sender = ... }).
--   idempotency  the body field of an idempotency key: every call sends one
--            (the caller's, or a fresh random one made once per call), and is
--            retried as a GET is (see zavu.methods: a 409 that answers it)
--   live_keys_only  refused locally with a test-mode key (zv_test_...), as
--            the API refuses it
--
-- Fields (of a query, a body, a nested object) are lists, checked in this
-- order by zavu.schema before anything is sent; a key no field names raises.
--   name       the API's name          required  true: it must be given
--   type       the JSON type: "string", "integer", "number", "boolean", "object", "array"
--   min_length, max_length   strings: UTF-8 characters, as the API counts them
--   pattern, means           strings: a Lua pattern, and what it asks in words
--   no_controls              strings: no control characters (a header's value)
--   min, max                 integers and numbers: the range
--   fields                   objects: their own fields (a nested table is checked the same way)
--   values                   objects that are maps (metadata): what every value is (a field without a name)
--   items, max_items         arrays: what every item is (a field without a name), how many at most
--   nullable                 zavu.null is sent as JSON null (webhookUrl = zavu.null removes the webhook)
-- Enumerated values (egress.kind, statuses, channels, message types, webhook
-- events) are not listed: the API grows, the server judges them.
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

-- The WhatsApp Alternative family: each refuses test-mode keys (live_keys_only, below).
local WHATSAPP_ALT = {
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
for _, op in ipairs(WHATSAPP_ALT) do
  op.live_keys_only = true -- "Not available with test-mode API keys" (whatsapp-alt.openapi.json)
end

-- ---- messages and senders (messaging.openapi.json) ----
local MESSAGES = "/v1/messages"
local MESSAGE = MESSAGES .. "/{messageId}"
local SENDERS = "/v1/senders"
local SENDER = SENDERS .. "/{senderId}"

local STRING = { type = "string" }

-- Zavu-Sender: the sender to act as (the project's default when absent).
local SENDER_HEADER = {
  name = "sender",
  header = "Zavu-Sender",
  type = "string",
  min_length = 1,
  no_controls = true,
  means = "a sender id without control characters",
}

local BUTTON = { -- MessageButton
  { name = "id", type = "string", required = true },
  { name = "title", type = "string", required = true, max_length = 20 },
}
local LIST_ROW = { -- MessageListRow
  { name = "id", type = "string", required = true },
  { name = "title", type = "string", required = true, max_length = 24 },
  { name = "description", type = "string", max_length = 72 },
}
local LIST_SECTION = { -- MessageListSection
  { name = "title", type = "string", required = true },
  { name = "rows", type = "array", required = true, max_items = 10, items = { type = "object", fields = LIST_ROW } },
}
local CONTACT_CARD = { -- MessageContactCard
  { name = "name", type = "string" },
  { name = "phones", type = "array", items = STRING },
}

-- MessageContent, as sent: the replyTo* fields are the API's context on
-- inbound replies, never sent.
local CONTENT = {
  { name = "mediaUrl", type = "string" },
  { name = "mediaId", type = "string" },
  { name = "mimeType", type = "string" },
  { name = "filename", type = "string" },
  { name = "latitude", type = "number" },
  { name = "longitude", type = "number" },
  { name = "locationName", type = "string" },
  { name = "locationAddress", type = "string" },
  { name = "contacts", type = "array", items = { type = "object", fields = CONTACT_CARD } },
  { name = "emoji", type = "string" },
  { name = "reactToMessageId", type = "string" },
  { name = "buttons", type = "array", max_items = 3, items = { type = "object", fields = BUTTON } },
  { name = "listButton", type = "string" },
  { name = "sections", type = "array", items = { type = "object", fields = LIST_SECTION } },
  { name = "ctaDisplayText", type = "string", max_length = 20 },
  { name = "ctaUrl", type = "string" },
  { name = "ctaHeaderType", type = "string" },
  { name = "ctaHeaderText", type = "string" },
  { name = "ctaHeaderMediaUrl", type = "string" },
  { name = "footerText", type = "string", max_length = 60 },
  { name = "templateId", type = "string" },
  { name = "templateVariables", type = "object", values = STRING },
  { name = "templateButtonVariables", type = "object", values = STRING },
  { name = "templateHeaderVariables", type = "object", values = STRING },
}

local ATTACHMENT = { -- EmailAttachment (snake_case, as the SDKs send it)
  { name = "filename", type = "string", required = true },
  { name = "content", type = "string" },
  { name = "path", type = "string" },
  { name = "content_type", type = "string" },
  { name = "content_id", type = "string" },
}

local SEND = { -- MessageSendRequest
  { name = "to", type = "string", required = true, min_length = 1 },
  { name = "channel", type = "string" },
  { name = "messageType", type = "string" },
  { name = "text", type = "string" },
  { name = "content", type = "object", fields = CONTENT },
  { name = "metadata", type = "object", values = STRING }, -- caller-defined string pairs
  { name = "idempotencyKey", type = "string", min_length = 1 },
  { name = "fallbackEnabled", type = "boolean" },
  { name = "subject", type = "string", max_length = 998 },
  { name = "htmlBody", type = "string" },
  { name = "replyTo", type = "string" },
  { name = "attachments", type = "array", items = { type = "object", fields = ATTACHMENT } },
  { name = "voiceLanguage", type = "string" },
}

local MESSAGE_QUERY = {
  { name = "channel", type = "string" },
  { name = "status", type = "string" },
  { name = "to", type = "string" },
  PAGE[1],
  PAGE[2],
}

local SENDER_CREATE = { -- SenderCreateRequest
  { name = "name", type = "string", required = true },
  { name = "phoneNumber", type = "string" },
  { name = "setAsDefault", type = "boolean" },
  { name = "webhookUrl", type = "string" },
  { name = "webhookEvents", type = "array", items = STRING }, -- WebhookEvent names: the API judges them
  { name = "webhookSignatureVersion", type = "string" }, -- v1, v1+v2, v2 (default for a new sender)
  { name = "emailAddress", type = "string" },
  { name = "emailDomainId", type = "string" },
  { name = "emailFromName", type = "string" },
  { name = "emailReceivingEnabled", type = "boolean" },
  { name = "enableSmsOneway", type = "boolean" },
  { name = "enableVoice", type = "boolean" },
}

local SENDER_UPDATE = { -- SenderUpdateRequest: only the fields given change
  { name = "name", type = "string" },
  { name = "setAsDefault", type = "boolean" },
  { name = "webhookUrl", type = "string", nullable = true }, -- zavu.null removes the webhook
  { name = "webhookEvents", type = "array", items = STRING }, -- WebhookEvent names: the API judges them
  { name = "webhookSignatureVersion", type = "string" }, -- v1 -> v1+v2 -> v2: the API refuses v1 -> v2
  { name = "webhookActive", type = "boolean" },
  { name = "emailAddress", type = "string" },
  { name = "emailDomainId", type = "string" },
  { name = "emailFromName", type = "string" },
  { name = "emailReceivingEnabled", type = "boolean" },
  { name = "emailCatchAllEnabled", type = "boolean" },
  { name = "enableSmsOneway", type = "boolean" },
  { name = "enableVoice", type = "boolean" },
}

-- Test-mode keys work here: the API's sandbox (a whatsapp_alt send with
-- one is the server's to refuse).
local MESSAGING = {
  {
    name = "messages.send",
    method = "POST",
    path = MESSAGES,
    body = { fields = SEND },
    headers = { SENDER_HEADER },
    idempotency = "idempotencyKey",
    returns = "message",
  },
  { name = "messages.get", method = "GET", path = MESSAGE, returns = "message" },
  { name = "messages.list", method = "GET", path = MESSAGES, query = MESSAGE_QUERY, returns = "page" },
  {
    name = "messages.react",
    method = "POST",
    path = MESSAGE .. "/reactions",
    body = { fields = { { name = "emoji", type = "string", required = true, min_length = 1 } }, argument = "emoji" },
    headers = { SENDER_HEADER },
    returns = "message",
  },
  { name = "senders.list", method = "GET", path = SENDERS, query = PAGE, returns = "page" },
  { name = "senders.create", method = "POST", path = SENDERS, body = { fields = SENDER_CREATE }, returns = "object" },
  { name = "senders.get", method = "GET", path = SENDER, returns = "object" },
  { name = "senders.update", method = "PATCH", path = SENDER, body = { fields = SENDER_UPDATE }, returns = "object" },
  { name = "senders.delete", method = "DELETE", path = SENDER, returns = "none" },
  {
    name = "senders.regenerate_webhook_secret",
    method = "POST",
    path = SENDER .. "/webhook/secret",
    returns = "object",
  },
}

local operations = {}
for _, list in ipairs { WHATSAPP_ALT, MESSAGING } do
  for _, op in ipairs(list) do
    operations[#operations + 1] = op
  end
end
return operations
