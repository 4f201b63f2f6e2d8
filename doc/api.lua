-- The public API of zavu, zavu.openresty and zavu.nvim, described once.
--
-- scripts/gen-types makes the LuaLS definitions in types/ from this file and
-- from lua/zavu/operations.lua (each operation's arguments: its path
-- parameters, query, body and options; what it returns). spec/rock/types_spec.lua
-- fails when types/ is stale, or when a function the modules or their clients
-- export has no definition.
--
-- params:  { name, type, doc }; a name ending in "?" is optional.
-- returns: { type, name, doc }.
local D = {}

-- ---- values of the API (field names as the API sends them) -----------------

D.aliases = {
  {
    "zavu.SessionStatus",
    { '"initializing"', '"qr_ready"', '"authenticating"', '"ready"', '"disconnected"', '"failed"' },
    "A session's connection state: initializing (the bridge is starting), qr_ready (`qrCode` is there: scan it), "
      .. "authenticating (scanned, handshaking), ready, disconnected, failed (see `lastError`).",
  },
  {
    "zavu.EgressNodeStatus",
    { '"pending"', '"online"', '"offline"' },
    "pending: paired but never connected; online: the tunnel is live; offline: the last tunnel dropped.",
  },
  {
    "zavu.EgressKind",
    { '"external"', '"android"', '"direct"' },
    "How a session reaches WhatsApp: external (the managed Zavu proxy), android (an egress node; needs `nodeId`), "
      .. "direct (legacy sessions only).",
  },
  {
    "zavu.ErrorCode",
    {
      '"invalid_argument"',
      '"missing_api_key"',
      '"test_mode_key"',
      '"insecure_transport"',
      '"client_busy"',
      '"cancelled"',
      '"response_too_large"',
      '"session_failed"',
      '"timeout"',
      '"connection_error"',
      '"tls_error"',
      '"invalid_response"',
      '"bad_request"',
      '"unauthorized"',
      '"forbidden"',
      '"not_found"',
      '"conflict"',
      '"unprocessable_entity"',
      '"rate_limited"',
      '"server_error"',
      '"http_error"',
      '"worker_thread_unavailable"',
      '"internal_error"',
      '"missing_signature"',
      '"malformed_signature"',
      '"timestamp_out_of_range"',
      '"signature_mismatch"',
      '"invalid_json"',
      "string",
    },
    "An error's code: one of the library's (README, \"The error table\"), or the `code` the API's body gave.",
  },
  { "zavu.HttpMethod", { '"GET"', '"POST"', '"PATCH"', '"DELETE"' }, "The methods `request` sends." },
  {
    "zavu.MessageStatus",
    { '"queued"', '"sending"', '"sent"', '"delivered"', '"read"', '"failed"', '"received"', "string" },
    "A message's state: outbound queued -> sending -> sent -> delivered -> read, or failed; inbound received. "
      .. "The API may add more.",
  },
  {
    "zavu.Channel",
    {
      '"whatsapp_alt"',
      '"whatsapp"',
      '"sms"',
      '"sms_oneway"',
      '"telegram"',
      '"email"',
      '"instagram"',
      '"messenger"',
      '"voice"',
      '"auto"',
      "string",
    },
    "A delivery channel; whatsapp_alt is the QR-linked WhatsApp of a session. The API judges them: none is refused here.",
  },
  {
    "zavu.SignatureVersion",
    { '"v1"', '"v1+v2"', '"v2"', "string" },
    "Which X-Zavu-Signature parts a sender's webhook gets: v1 -> v1+v2 -> v2, one step at a time.",
  },
}

D.classes = {
  {
    name = "zavu.Session",
    doc = "A WhatsApp Alternative session, as the API describes it (absent fields were JSON null).",
    fields = {
      { "id", "string", "the session's id" },
      { "displayName", "string?", "the label given at creation" },
      { "status", "zavu.SessionStatus", "its connection state" },
      {
        "qrCode",
        "string?",
        "the QR payload to scan from WhatsApp (Linked devices); only while status is qr_ready, "
          .. "and it rotates until scanned",
      },
      { "phoneNumber", "string?", "the linked number (E.164), once ready" },
      { "pushName", "string?", "the WhatsApp profile name of the linked account" },
      { "egress", "zavu.EgressSpec", "how the session reaches WhatsApp" },
      { "senderId", "string?", "the sender the session is linked to, if any" },
      { "lastError", "string?", "why it failed or disconnected" },
      { "lastConnectedAt", "string?", "RFC 3339 time" },
      { "createdAt", "string", "RFC 3339 time" },
      { "updatedAt", "string?", "RFC 3339 time" },
    },
  },
  {
    name = "zavu.EgressSpec",
    doc = "A session's egress routing.",
    fields = {
      { "kind", "zavu.EgressKind", "" },
      { "nodeId", "string?", "the egress node, when kind is android" },
      { "country", "string?", "ISO 3166-1 alpha-2 code (lowercase) the proxy exit is matched to" },
    },
  },
  {
    name = "zavu.EgressInput",
    doc = "The egress to set on a session: external (the managed Zavu proxy) or android "
      .. "(an egress node); direct is refused by the API.",
    fields = {
      { "kind", '"external"|"android"', "" },
      { "nodeId", "string?", "required when kind is android" },
      { "country", "string?", "ISO 3166-1 alpha-2 code; derived from the number when absent" },
    },
  },
  {
    name = "zavu.SessionCreateBody",
    doc = "The body of `sessions.create`.",
    fields = {
      { "displayName", "string?", "a label, up to 200 characters" },
      { "egress", "zavu.EgressInput?", "default: the managed proxy" },
    },
  },
  {
    name = "zavu.EgressNode",
    doc = "An Android device that lends its IP to sessions (an egress node).",
    fields = {
      { "id", "string", "the node's id: a session's `egress.nodeId`" },
      { "senderId", "string", "the sender it belongs to" },
      { "label", "string?", "" },
      { "status", "zavu.EgressNodeStatus", "" },
      { "exitIp", "string?", "the public IP it exits from" },
      { "exitCountry", "string?", "ISO country of the exit IP" },
      { "net", "string?", "network type the device reports (wifi, cell, other)" },
      { "lastSeenAt", "string?", "RFC 3339 time" },
      { "createdAt", "string", "RFC 3339 time" },
    },
  },
  {
    name = "zavu.EgressNodeCreateBody",
    doc = "The body of `egress_nodes.create`.",
    fields = {
      { "senderId", "string", "the sender the device belongs to" },
      { "label", "string?", "up to 100 characters" },
    },
  },
  {
    name = "zavu.Pairing",
    doc = "What the Zavu Egress Node app scans to pair a device.",
    fields = {
      { "token", "string", "short-lived pairing token (not stored: reissue with `pairing_token`)" },
      { "gatewayUrl", "string", "the WSS gateway the device dials" },
      { "wsPath", "string", "" },
      { "expiresAt", "string?", "RFC 3339 time the token expires" },
    },
  },
  {
    name = "zavu.EgressNodePairing",
    doc = "A node and a fresh pairing token (`egress_nodes.create`, `pairing_token`).",
    fields = {
      { "node", "zavu.EgressNode", "" },
      { "pairing", "zavu.Pairing", "" },
    },
  },
  {
    name = "zavu.ProxyStatus",
    doc = "`proxy_status()`.",
    fields = {
      {
        "zavuProxyAvailable",
        "boolean",
        "whether the managed proxy egress (kind external) is offered now; "
          .. "when false, pair an Android egress node",
      },
    },
  },
  {
    name = "zavu.MessageContent",
    doc = "What a message carries besides its text, by `messageType` (the API's names: media, location, contacts, "
      .. "a reaction, buttons, lists, a CTA, a template).",
    fields = {
      { "mediaUrl", "string?", "image, video, audio, document, sticker" },
      { "mediaId", "string?", "" },
      { "mimeType", "string?", "" },
      { "filename", "string?", "document" },
      { "latitude", "number?", "location" },
      { "longitude", "number?", "location" },
      { "locationName", "string?", "" },
      { "locationAddress", "string?", "" },
      { "contacts", "{ name: string?, phones: string[]? }[]?", "contact" },
      { "emoji", "string?", "reaction" },
      { "reactToMessageId", "string?", "reaction" },
      { "buttons", "{ id: string, title: string }[]?", "buttons: at most 3, titles of 20 characters" },
      { "listButton", "string?", "list" },
      { "sections", "table[]?", "list: { title, rows = { { id, title, description? } } }" },
      { "ctaDisplayText", "string?", "cta_url" },
      { "ctaUrl", "string?", "cta_url" },
      { "ctaHeaderType", "string?", "" },
      { "ctaHeaderText", "string?", "" },
      { "ctaHeaderMediaUrl", "string?", "" },
      { "footerText", "string?", "" },
      { "templateId", "string?", "template" },
      { "templateVariables", "table<string, string>?", "" },
      { "templateButtonVariables", "table<string, string>?", "" },
      { "templateHeaderVariables", "table<string, string>?", "" },
    },
  },
  {
    name = "zavu.Message",
    doc = "A message, as the API describes it (absent fields were JSON null).",
    fields = {
      { "id", "string", "the message's id" },
      { "channel", "zavu.Channel", "" },
      { "messageType", "string", "text, image, reaction, ..." },
      { "status", "zavu.MessageStatus", "" },
      { "to", "string", "" },
      { "from", "string?", "" },
      { "senderId", "string?", "the sender it went out as" },
      { "conversationId", "string?", "" },
      { "text", "string?", "" },
      { "content", "zavu.MessageContent?", "" },
      { "metadata", "table<string, string>?", "the pairs it was sent with" },
      { "providerMessageId", "string?", "" },
      { "errorCode", "string?", "failed: why" },
      { "errorMessage", "string?", "" },
      { "cost", "number?", "USD" },
      { "createdAt", "string", "RFC 3339" },
      { "updatedAt", "string?", "" },
    },
  },
  {
    name = "zavu.MessageSendBody",
    doc = "What `messages.send` sends: any field of the API's send body, by its name, and `sender`, sent as the "
      .. "Zavu-Sender header. Without `idempotencyKey`, a fresh one (128 random bits) is made once for the call.",
    fields = {
      { "to", "string", "E.164, an email address, a group JID (<id>@g.us, whatsapp_alt)" },
      { "channel", "zavu.Channel?", "" },
      { "messageType", "string?", "text (default), image, video, audio, document, sticker, location, ..." },
      { "text", "string?", "the text, or a caption" },
      { "content", "zavu.MessageContent?", "" },
      { "metadata", "table<string, string>?", "" },
      { "idempotencyKey", "string?", "sent at most once per key; the same key again is the API's 409" },
      { "fallbackEnabled", "boolean?", "" },
      { "subject", "string?", "email" },
      { "htmlBody", "string?", "email" },
      { "replyTo", "string?", "email" },
      { "attachments", "table[]?", "email: { filename, content? | path?, content_type?, content_id? }" },
      { "voiceLanguage", "string?", "voice" },
      { "sender", "string?", "the sender to act as (Zavu-Sender); default: the client's sender option" },
    },
  },
  {
    name = "zavu.MessageListQuery",
    doc = "The query of `messages.list` (`each` and `all` ask for 100 a page).",
    fields = {
      { "channel", "zavu.Channel?", "" },
      { "status", "zavu.MessageStatus?", "" },
      { "to", "string?", "" },
      { "limit", "integer?", "messages a page, at most 100" },
      { "cursor", "string?", "a page's `nextCursor`" },
    },
  },
  {
    name = "zavu.MessagePage",
    doc = "One page of `messages.list`.",
    fields = {
      { "items", "zavu.Message[]", "" },
      { "nextCursor", "string?", "the next page's `cursor`; absent on the last page" },
    },
  },
  {
    name = "zavu.SenderFields",
    doc = "Fields of `messages.react` that are no body's.",
    fields = { { "sender", "string?", "the sender to act as (Zavu-Sender); default: the client's sender option" } },
  },
  {
    name = "zavu.SenderWebhook",
    doc = "A sender's webhook.",
    fields = {
      { "url", "string", "" },
      { "events", "string[]", "message.inbound, message.delivered, ..." },
      { "active", "boolean", "false: deliveries paused" },
      { "signatureVersion", "zavu.SignatureVersion", "" },
      { "secret", "string?", "only from senders.create and regenerate_webhook_secret" },
    },
  },
  {
    name = "zavu.Sender",
    doc = "A sender, as the API describes it.",
    fields = {
      { "id", "string", "" },
      { "name", "string", "" },
      { "phoneNumber", "string?", "" },
      { "channels", "string[]?", "the channels it can use now" },
      { "isDefault", "boolean?", "" },
      { "webhook", "zavu.SenderWebhook?", "" },
      { "createdAt", "string?", "" },
      { "updatedAt", "string?", "" },
    },
  },
  {
    name = "zavu.SenderCreateBody",
    doc = "The body of `senders.create`.",
    fields = {
      { "name", "string", "" },
      { "phoneNumber", "string?", "E.164, a number the project owns" },
      { "setAsDefault", "boolean?", "" },
      { "webhookUrl", "string?", "" },
      { "webhookEvents", "string[]?", "" },
      { "webhookSignatureVersion", "zavu.SignatureVersion?", "default v2" },
      { "emailAddress", "string?", "" },
      { "emailDomainId", "string?", "" },
      { "emailFromName", "string?", "" },
      { "emailReceivingEnabled", "boolean?", "" },
      { "enableSmsOneway", "boolean?", "" },
      { "enableVoice", "boolean?", "" },
    },
  },
  {
    name = "zavu.SenderUpdateBody",
    doc = "The body of `senders.update` (a PATCH: only the fields given change).",
    fields = {
      { "name", "string?", "" },
      { "setAsDefault", "boolean?", "" },
      { "webhookUrl", "string|lightuserdata?", "zavu.null removes the webhook" },
      { "webhookEvents", "string[]?", "" },
      { "webhookSignatureVersion", "zavu.SignatureVersion?", "v1 -> v1+v2 -> v2: the API refuses v1 -> v2" },
      { "webhookActive", "boolean?", "false pauses deliveries" },
      { "emailAddress", "string?", "" },
      { "emailDomainId", "string?", "" },
      { "emailFromName", "string?", "" },
      { "emailReceivingEnabled", "boolean?", "" },
      { "emailCatchAllEnabled", "boolean?", "" },
      { "enableSmsOneway", "boolean?", "" },
      { "enableVoice", "boolean?", "" },
    },
  },
  {
    name = "zavu.SenderListQuery",
    doc = "The query of `senders.list`.",
    fields = {
      { "limit", "integer?", "senders a page, at most 100" },
      { "cursor", "string?", "a page's `nextCursor`" },
    },
  },
  {
    name = "zavu.SenderPage",
    doc = "One page of `senders.list`.",
    fields = {
      { "items", "zavu.Sender[]", "" },
      { "nextCursor", "string?", "the next page's `cursor`; absent on the last page" },
    },
  },
  {
    name = "zavu.WebhookSecret",
    doc = "`senders.regenerate_webhook_secret`: the new secret (the old one stops working at once).",
    fields = { { "secret", "string", "whsec_..." } },
  },
  {
    name = "zavu.SessionPage",
    doc = "One page of `sessions.list`.",
    fields = {
      { "items", "zavu.Session[]", "" },
      { "nextCursor", "string?", "the next page's `cursor`; absent on the last page" },
    },
  },
  {
    name = "zavu.EgressNodePage",
    doc = "One page of `egress_nodes.list`.",
    fields = {
      { "items", "zavu.EgressNode[]", "" },
      { "nextCursor", "string?", "the next page's `cursor`; absent on the last page" },
    },
  },
  {
    name = "zavu.SessionListQuery",
    doc = "The query of `sessions.list` (`each` and `all` ask for 100 a page).",
    fields = {
      { "limit", "integer?", "sessions a page, at most 100 (the API's default: 50)" },
      { "cursor", "string?", "a page's `nextCursor`" },
    },
  },
  {
    name = "zavu.EgressNodeListQuery",
    doc = "The query of `egress_nodes.list`.",
    fields = {
      { "senderId", "string", "the sender whose nodes to list (the API requires it)" },
      { "limit", "integer?", "nodes a page, at most 100" },
      { "cursor", "string?", "a page's `nextCursor`" },
    },
  },

  -- ---- the library's own tables ----
  {
    name = "zavu.Error",
    doc = "What every call returns as its second value when it fails: a plain table (it "
      .. "crosses OpenResty's and libuv's threads) whose `tostring` is one sentence. `zavu.is_error` recognises one; "
      .. "`setmetatable(err, zavu.error_mt)` gives a copied one its `tostring` back.",
    fields = {
      { "status", "integer?", "the HTTP status; nil when no response arrived" },
      { "code", "zavu.ErrorCode", "" },
      { "message", "string", "a human sentence, never empty" },
      {
        "details",
        "table?",
        "the body's `details`; a send's error adds `idempotencyKey` (send again with it, never twice) "
          .. "and, for a 409 that carried it, `message`: the first send's",
      },
      { "request_id", "string?", "the X-Request-Id response header" },
      { "retryable", "boolean", "worth another try? (a POST: false if the server may have seen it)" },
      { "retry_after", "number?", "seconds the server asked to wait" },
      { "attempts", "integer", "requests the server may have seen (0 for local errors)" },
      { "lastError", "string?", "session_failed (`sessions.wait`): the session's lastError" },
      { "session", "zavu.Session?", "session_failed and timeout of `sessions.wait`: the session as last seen" },
    },
  },
  {
    name = "zavu.Options",
    doc = "Options of `zavu.new`; unset ones come from the environment "
      .. "(ZAVUDEV_API_KEY, ZAVUDEV_BASE_URL, ZAVUDEV_LOG=debug), then the defaults. A wrong type or an impossible "
      .. "value raises at the call site.",
    fields = {
      { "api_key", "string?", "a live key (zv_live_...); default $ZAVUDEV_API_KEY" },
      { "base_url", "string?", "default $ZAVUDEV_BASE_URL, else https://api.zavu.dev; may carry a path prefix" },
      { "timeout", "number?", "seconds per attempt (default 60)" },
      {
        "total_timeout",
        "number?",
        "seconds for a whole call, every attempt and retry wait included (default: none), for every call",
      },
      { "connect_timeout", "number?", "seconds (default 10)" },
      { "max_retries", "integer?", "extra attempts, 0..100 (default 2)" },
      { "max_retry_wait", "number?", "seconds: cap on a wait the server asks for (default 60)" },
      { "ca_file", "string?", "a private CA bundle; verification is always on" },
      { "ca_path", "string?", "a private CA directory" },
      { "user_agent", "string?", "appended to zavu-lua/<version> (<Lua>; libcurl/<version>)" },
      { "allow_insecure_http", "boolean?", "permit http:// to a host that is not loopback" },
      { "debug", "boolean?", 'one stderr line per attempt (default: $ZAVUDEV_LOG == "debug")' },
      { "max_response_bytes", "integer?", "cap on a success body (default 8 MiB)" },
      { "sender", "string?", "the Zavu-Sender of messages.send and react when a call names none" },
    },
  },
  {
    name = "zavu.openresty.Options",
    parent = "zavu.Options",
    doc = "Options of `zavu.openresty.new`: zavu's, plus " .. "where the calls run.",
    fields = {
      { "thread_pool", "string?", 'the nginx thread_pool to run calls in (default "default")' },
      {
        "blocking",
        "boolean?",
        "run in the calling coroutine instead (for phases that cannot yield): new() then "
          .. "returns a plain zavu client",
      },
    },
  },
  {
    name = "zavu.CallOptions",
    doc = "Per-call options of every method.",
    fields = {
      { "timeout", "number?", "seconds per attempt, for this call" },
      {
        "total_timeout",
        "number?",
        "seconds for the whole call, every attempt and retry wait included; then code timeout "
          .. "(delete_many: the whole batch)",
      },
      { "max_retries", "integer?", "extra attempts, for this call" },
    },
  },
  {
    name = "zavu.DeleteOptions",
    parent = "zavu.CallOptions",
    doc = "Options of `sessions.delete` and `egress_nodes.delete`.",
    fields = {
      { "missing_ok", "boolean?", "count a 404 (already gone) as done" },
    },
  },
  {
    name = "zavu.DeleteManyOptions",
    parent = "zavu.DeleteOptions",
    doc = "Options of `sessions.delete_many`.",
    fields = {
      { "concurrency", "integer?", "transfers at once, 1..64 (default 8)" },
      {
        "on_progress",
        "fun(done: integer, total: integer)?",
        "after each id settles (not across threads: " .. "zavu.openresty and zavu.nvim refuse it)",
      },
    },
  },
  {
    name = "zavu.ListOptions",
    parent = "zavu.CallOptions",
    doc = "Options of `each` and `all`.",
    fields = {
      { "max_pages", "integer?", "more pages than this is invalid_response (default 10000)" },
    },
  },
  {
    name = "zavu.WaitOptions",
    doc = "Options of `sessions.wait`.",
    fields = {
      { "status", "zavu.SessionStatus|zavu.SessionStatus[]?", "the status (or statuses) to wait for (default ready)" },
      { "timeout", "number?", "seconds in all (default 180)" },
      { "total_timeout", "number?", "seconds in all too: the shorter of the two bounds the wait" },
      { "interval", "number?", "seconds between polls, at least (default 2)" },
      { "on_qr", "fun(qr: string, session: zavu.Session)?", "each time a new QR code appears (plain Lua only)" },
    },
  },
  {
    name = "zavu.PruneOptions",
    doc = "What `sessions.prune` deletes: the sessions matching all of status, "
      .. "older_than and filter (at least one is required).",
    fields = {
      { "status", "zavu.SessionStatus|zavu.SessionStatus[]?", "" },
      { "older_than", "number?", "seconds since createdAt" },
      { "filter", "fun(session: zavu.Session): boolean?", "keep the sessions it returns true for (plain Lua only)" },
      { "dry_run", "boolean?", "delete nothing; say what would go" },
      { "concurrency", "integer?", "as delete_many's" },
      { "timeout", "number?", "seconds per attempt" },
      { "total_timeout", "number?", "seconds for the whole prune: the listing, then the deletes" },
      { "max_retries", "integer?", "extra attempts" },
    },
  },
  {
    name = "zavu.RequestArgs",
    parent = "zavu.DeleteOptions",
    doc = "Arguments of `request`.",
    fields = {
      { "params", "string[]?", "the values of the path's {name} parts, in order (each one encoded segment)" },
      { "query", "table<string, string|number|boolean>?", "encoded in key order" },
      { "body", "table|string?", "a table is sent as JSON; a string as it is" },
    },
  },
  {
    name = "zavu.DeleteFailure",
    doc = "One id `delete_many` could not delete.",
    fields = {
      { "id", "string", "" },
      { "error", "zavu.Error", "" },
    },
  },
  {
    name = "zavu.DeleteSummary",
    doc = "What `sessions.delete_many` returns.",
    fields = {
      { "ok", "boolean", "every id deleted?" },
      { "total", "integer", "#ids" },
      { "deleted", "string[]", "in the order of ids" },
      { "failed", "zavu.DeleteFailure[]", "in the order of ids" },
    },
  },
  {
    name = "zavu.PruneSummary",
    parent = "zavu.DeleteSummary",
    doc = "What `sessions.prune` returns.",
    fields = {
      { "matched", "zavu.Session[]", "the sessions chosen" },
      { "dry_run", "boolean", "" },
    },
  },
  {
    name = "zavu.CurlInfo",
    doc = "`zavu.core.curl_info()`.",
    fields = {
      { "version", "string", "libcurl's version" },
      { "ssl_version", "string", "its TLS library (empty without one)" },
      { "http2", "boolean", "" },
      { "tls", "boolean", "" },
    },
  },
  {
    name = "zavu.WebhookEvent",
    doc = "A verified webhook delivery: the envelope Zavu sent (../shared/api/webhooks.md), decoded, and the "
      .. "scheme that verified it. Unknown event types must be ignored, not refused.",
    fields = {
      { "id", "string", "the event's id (evt_...): the same on every retry of one delivery" },
      { "type", "string", "message.inbound, message.status, message.delivered, conversation.new, ..." },
      { "timestamp", "number", "when Zavu dispatched it, Unix milliseconds" },
      { "senderId", "string?", "the sender whose webhook this is (absent on project-level events)" },
      { "projectId", "string", "" },
      { "data", "table", "the event's payload: test fields for presence" },
      { "scheme", '"v2"|"v1"', "the signature that matched: v2 when the header had one" },
    },
  },
  {
    name = "zavu.WebhookVerifyOptions",
    doc = "Options of `zavu.webhooks.verify`.",
    fields = {
      {
        "tolerance",
        "number?",
        "seconds a signature may be old (default 300); the future side is 60 s, or this if less",
      },
      { "now", "number?", "the clock, Unix seconds (default os.time())" },
      { "require_v2", "boolean?", "refuse a header with v1 only (v1 does not cover the timestamp)" },
    },
  },
  {
    name = "zavu.WebhookToolOptions",
    doc = "Options of `zavu.webhooks.verify_tool`.",
    fields = {
      { "tolerance", "number?", "seconds the tool call's timestamp may be old (default 300)" },
      { "now", "number?", "the clock, Unix seconds (default os.time())" },
    },
  },
  {
    name = "zavu.WebhookSignOptions",
    doc = "Options of `zavu.webhooks.sign`.",
    fields = {
      { "t", "integer?", "the signature's Unix time (default os.time())" },
      { "scheme", '"v2"|"v1"|"v1+v2"?', 'default "v2"; "v1+v2" signs both with one t' },
    },
  },
  {
    name = "zavu.openresty.WebhookOptions",
    doc = "Options of `zavu.openresty.webhook`.",
    fields = {
      { "secret", "string|string[]", "the sender's signing secret, or one per sender" },
      { "on_event", "fun(event: zavu.WebhookEvent)", "the handler; if it raises, the answer is 500 and Zavu retries" },
      { "dedupe", "string?", "a lua_shared_dict's name: each event id handled once (ids kept 6 h)" },
      { "max_body", "integer?", "bytes; a bigger body is answered 413 (default 1 MiB)" },
      {
        "respond",
        '"after"|"first"?',
        '"first": answer 200 before on_event runs (in a timer); an event whose handler raises is then lost',
      },
      { "tolerance", "number?", "as zavu.webhooks.verify" },
      { "require_v2", "boolean?", "as zavu.webhooks.verify" },
    },
  },
  {
    name = "zavu.nvim.ProbeInfo",
    doc = "What `zavu.nvim.probe` reports a worker thread loaded.",
    fields = {
      { "version", "string", "zavu.VERSION" },
      { "curl_version", "string", "" },
      { "lua", "string", "the worker's Lua" },
    },
  },
}

-- ---- the methods of a client -----------------------------------------------

-- Each operation of lua/zavu/operations.lua: its doc, and the types its
-- arguments and result take. (The arguments themselves come from the operation.)
D.operations = {
  ["sessions.list"] = {
    doc = "One page of sessions.",
    query = "zavu.SessionListQuery",
    returns = "zavu.SessionPage",
    item = "zavu.Session",
  },
  ["sessions.create"] = {
    doc = "Create a session; `sessions.wait` then follows it to ready.",
    body = "zavu.SessionCreateBody",
    returns = "zavu.Session",
  },
  ["sessions.get"] = { doc = "A session.", returns = "zavu.Session" },
  ["sessions.delete"] = {
    doc = "Delete a session, unlink its senders and log the device out of WhatsApp. " .. "`true` on any 2xx.",
    opts = "zavu.DeleteOptions",
  },
  ["sessions.set_egress"] = {
    doc = "Set how the session reaches WhatsApp.",
    body = "zavu.EgressInput",
    returns = "zavu.Session",
  },
  ["sessions.reconnect"] = {
    doc = "Reconnect the session (a POST: sent again only when surely unsent).",
    returns = "zavu.Session",
  },
  ["sessions.logout"] = { doc = "Log the device out of WhatsApp; the session stays.", returns = "zavu.Session" },
  ["sessions.link"] = { doc = "Attach the session to a sender.", body = "string", returns = "zavu.Session" },
  ["sessions.unlink"] = { doc = "Detach the session from its sender.", returns = "zavu.Session" },
  ["egress_nodes.list"] = {
    doc = "One page of a sender's egress nodes.",
    query = "zavu.EgressNodeListQuery",
    returns = "zavu.EgressNodePage",
    item = "zavu.EgressNode",
  },
  ["egress_nodes.create"] = {
    doc = "Register an egress node; show `pairing` to the device as a QR code.",
    body = "zavu.EgressNodeCreateBody",
    returns = "zavu.EgressNodePairing",
  },
  ["egress_nodes.get"] = { doc = "An egress node.", returns = "zavu.EgressNode" },
  ["egress_nodes.delete"] = { doc = "Revoke an egress node. `true` on any 2xx.", opts = "zavu.DeleteOptions" },
  ["egress_nodes.pairing_token"] = { doc = "A fresh pairing token for a node.", returns = "zavu.EgressNodePairing" },
  ["proxy_status"] = { doc = "Whether the managed proxy egress is offered now.", returns = "zavu.ProxyStatus" },
  ["messages.send"] = {
    doc = "Send a message (the API's `message`). It always carries an idempotencyKey - the caller's, or a fresh one "
      .. "made once for the call - so it is retried as a GET is and never sent twice; a 409 that answers this call's "
      .. "own key is its success.",
    body = "zavu.MessageSendBody",
    returns = "zavu.Message",
  },
  ["messages.get"] = { doc = "A message.", returns = "zavu.Message" },
  ["messages.list"] = {
    doc = "One page of messages.",
    query = "zavu.MessageListQuery",
    returns = "zavu.MessagePage",
    item = "zavu.Message",
  },
  ["messages.react"] = {
    doc = "React to a message with an emoji (a POST: sent again only when surely unsent); the reaction's message.",
    body = "string",
    fields = "zavu.SenderFields",
    returns = "zavu.Message",
  },
  ["senders.list"] = {
    doc = "One page of senders.",
    query = "zavu.SenderListQuery",
    returns = "zavu.SenderPage",
    item = "zavu.Sender",
  },
  ["senders.create"] = {
    doc = "Create a sender; its webhook's secret is in this answer only.",
    body = "zavu.SenderCreateBody",
    returns = "zavu.Sender",
  },
  ["senders.get"] = { doc = "A sender (never its webhook's secret).", returns = "zavu.Sender" },
  ["senders.update"] = {
    doc = "Change a sender: a PATCH of the fields given (zavu.null for a JSON null).",
    body = "zavu.SenderUpdateBody",
    returns = "zavu.Sender",
  },
  ["senders.delete"] = { doc = "Delete a sender. `true` on any 2xx.", opts = "zavu.DeleteOptions" },
  ["senders.regenerate_webhook_secret"] = {
    doc = "A new webhook secret; the old one stops working at once.",
    returns = "zavu.WebhookSecret",
  },
}

-- The other methods, with their arguments and results.
D.methods = {
  ["sessions.delete_many"] = {
    doc = "Delete many sessions concurrently (libcurl's multi interface); each id gets delete's checks, retries "
      .. "and error table. nil and an error only when the client is busy.",
    params = { { "ids", "(string|integer)[]", "" }, { "opts?", "zavu.DeleteManyOptions", "" } },
    returns = { { "zavu.DeleteSummary?", "summary", "" }, { "zavu.Error?", "err", "" } },
  },
  ["sessions.wait"] = {
    doc = "Poll `get` until the session reaches a status asked for; ends on failed (session_failed), a 404 or any "
      .. "error of get, its timeout (timeout) or `zavu.cancel_all()` (cancelled).",
    params = { { "id", "string|integer", "the session's id" }, { "opts?", "zavu.WaitOptions", "" } },
    returns = { { "zavu.Session?", "session", "" }, { "zavu.Error?", "err", "" } },
  },
  ["sessions.prune"] = {
    doc = "List every session, keep those matching all of status, older_than and filter, and delete them with "
      .. "delete_many (missing_ok).",
    params = { { "opts", "zavu.PruneOptions", "" } },
    returns = { { "zavu.PruneSummary?", "summary", "" }, { "zavu.Error?", "err", "" } },
  },
  ["request"] = {
    doc = "Any endpoint, through the same engine as every method: the decoded body (true for an empty one).",
    params = {
      { "method", "zavu.HttpMethod", "" },
      { "path", "string", "starts with /; {name} parts take params" },
      { "args?", "zavu.RequestArgs", "" },
    },
    returns = { { "any", "body", "" }, { "zavu.Error?", "err", "" } },
  },
}

-- ---- the modules -------------------------------------------------------------

-- Functions of the modules (besides the default client's methods, which are
-- the client's). `new` is described per module.
D.modules = {
  zavu = {
    doc = "The Zavu API from Lua. The module's own methods (zavu.sessions.delete(id), ...) belong to a default "
      .. "client made on first use from the environment.",
    fields = {
      { "VERSION", "string", "this library's version" },
      { "curl_version", "string", "libcurl's version" },
      { "error_mt", "metatable", "the error tables' metatable: gives a copied error its tostring back" },
      { "METHODS", "string[]", 'every method of a client, as "resource.name" or "name"' },
      { "null", "lightuserdata", "a JSON null to send (webhookUrl = zavu.null): lua-cjson's null, as ngx.null" },
    },
    functions = {
      new = {
        doc = "A client: one connection kept alive across its calls.",
        params = { { "opts?", "zavu.Options", "" } },
        returns = { { "zavu.Client", "client", "" } },
      },
      check_options = {
        doc = "Raise, as new() would, when an option is unknown, has a wrong type or an impossible value.",
        params = { { "opts?", "zavu.Options", "" } },
        returns = {},
      },
      check_call_options = {
        doc = "Raise, as a call would, on an unknown or bad per-call option (any method's, delete_many's included).",
        params = { { "opts", "zavu.CallOptions", "" } },
        returns = {},
      },
      check_call = {
        doc = "Raise, as client[name](...) would, when the arguments are misuse; sends nothing.",
        params = { { "name", "string", "a name of zavu.METHODS" }, { "...", "any", "" } },
        returns = {},
      },
      cancel_all = {
        doc = "End every call in flight in this process (every thread, every client) with the code " .. "cancelled.",
        params = {},
        returns = {},
      },
      error_from_response = {
        doc = "The error table an HTTP response turns into, for HTTP done by other means.",
        params = {
          { "status", "integer", "" },
          { "body?", "string", "" },
          { "request_id?", "string", "" },
          { "noun?", "string", 'what the route is about, for a 404\'s message ("egress node"; default a session)' },
        },
        returns = { { "zavu.Error", "err", "" } },
      },
      is_error = {
        doc = "Whether v is an error table of this library (even a copied one).",
        params = { { "v", "any", "" } },
        returns = { { "boolean", "", "" } },
      },
      plain_options = {
        doc = "The options with plain values only: what can cross into another thread.",
        params = { { "opts?", "table", "" } },
        returns = { { "table", "", "" } },
      },
      lazy_client = {
        doc = "A client-shaped table whose calls go to a client new() makes on first use.",
        params = { { "new", "fun(): zavu.Client", "" }, { "names?", "string[]", "default zavu.METHODS" } },
        returns = { { "table", "", "" } },
      },
      lazy_sessions = {
        doc = "lazy_client(new).sessions",
        params = { { "new", "fun(): zavu.Client", "" } },
        returns = { { "zavu.Sessions", "", "" } },
      },
      place = {
        doc = 'Put f where a method named name lands on t: "sessions.get" -> t.sessions.get, "request" -> t.request (for the host modules)',
        params = { { "t", "table", "" }, { "name", "string", "" }, { "f", "function", "" } },
        returns = {},
      },
      call_total = {
        doc = "The total_timeout a call of the method `name` with these arguments runs under: its options' own, "
          .. "else client_total, or nil (for the host modules, which count the wait for a thread in it)",
        params = { { "name", "string", "" }, { "client_total", "number?", "" }, { "...", "any", "" } },
        returns = { { "number?", "", "" } },
      },
      call_within = {
        doc = "f(...), a call of the method `name`, given what is left before deadline (a zavu.core.now() time; "
          .. "nil: unbound) as its total_timeout; nothing left: nil and a timeout error, nothing sent",
        params = {
          { "f", "function", "" },
          { "name", "string", "" },
          { "deadline", "number?", "" },
          { "...", "any", "" },
        },
        returns = { { "any", "...", "" } },
      },
    },
    -- Tables of functions on the module, each a class of its own.
    tables = {
      webhooks = {
        class = "zavu.Webhooks",
        doc = "Signed webhook deliveries (X-Zavu-Signature), checked in C over the exact bytes received.",
        functions = {
          verify = {
            doc = 'Verify a sender-webhook delivery: v2 over "{t}.{body}" when the header has it, else v1 over the '
              .. "body; then decode the JSON. err.code: missing_signature, malformed_signature, "
              .. "timestamp_out_of_range, signature_mismatch, invalid_json.",
            params = {
              { "raw_body", "string", "the body's bytes as received" },
              { "signature_header", "string|string[]?", "X-Zavu-Signature (nil: none; a list: sent twice)" },
              { "secret", "string|string[]", "the secret, or one per sender" },
              { "opts?", "zavu.WebhookVerifyOptions", "" },
            },
            returns = { { "zavu.WebhookEvent?", "event", "" }, { "zavu.Error?", "err", "" } },
          },
          sign = {
            doc = "The X-Zavu-Signature value Zavu would send for the body (tests, local tools).",
            params = {
              { "raw_body", "string", "" },
              { "secret", "string", "" },
              { "opts?", "zavu.WebhookSignOptions", "" },
            },
            returns = { { "string", "header", "" } },
          },
          verify_tool = {
            doc = "Verify a tool-call webhook: a bare hex HMAC of the body; fresh by the body's timestamp field "
              .. "(timestamp_ms, the unsigned X-Zavu-Timestamp, only when the body has none).",
            params = {
              { "raw_body", "string", "" },
              { "signature_hex", "string?", "X-Zavu-Signature" },
              { "timestamp_ms", "number|string?", "X-Zavu-Timestamp" },
              { "secret", "string|string[]", "the tool's secret" },
              { "opts?", "zavu.WebhookToolOptions", "" },
            },
            returns = { { "true?", "ok", "" }, { "zavu.Error?", "err", "" } },
          },
        },
      },
    },
  },
  ["zavu.openresty"] = {
    doc = "zavu for OpenResty: every method of zavu.METHODS runs in nginx's thread pool "
      .. "(ngx.run_worker_thread) while the worker goes on serving. Same arguments and returns as zavu's.",
    fields = {
      { "VERSION", "string", "" },
      { "error_mt", "metatable", "" },
      { "null", "lightuserdata", "zavu.null" },
    },
    functions = {
      new = {
        doc = "A client whose calls run in the thread pool (or block, with blocking = true).",
        params = { { "opts?", "zavu.openresty.Options", "" } },
        returns = { { "zavu.openresty.Client", "client", "" } },
      },
      is_error = {
        doc = "Whether v is an error table of zavu.",
        params = { { "v", "any", "" } },
        returns = { { "boolean", "", "" } },
      },
      webhook = {
        doc = "Receive a signed webhook delivery in a content handler: 405 to anything but POST, 413 past max_body, "
          .. "401 to a signature failure, 400 to a body that is not JSON, 200 once on_event returned (or at once "
          .. 'with respond = "first"), 500 when it raised; with dedupe, a handled id 200 without on_event and '
          .. "an id being handled 409.",
        params = { { "opts", "zavu.openresty.WebhookOptions", "" } },
        returns = { { "integer", "status", "the status answered" } },
      },
    },
    internal = {
      thread_call = "run in the pool's Lua VM by ngx.run_worker_thread",
      thread_delete = "run in the pool's Lua VM by ngx.run_worker_thread",
      thread_delete_many = "run in the pool's Lua VM by ngx.run_worker_thread",
    },
  },
  ["zavu.nvim"] = {
    doc = "zavu for Neovim: every method of zavu.METHODS with a callback last; the call runs on libuv's thread "
      .. "pool and the callback gets what the plain method returns, on the main loop.",
    fields = {
      { "VERSION", "string", "" },
      { "error_mt", "metatable", "" },
      { "null", "lightuserdata", "zavu.null" },
      { "METHODS", "string[]", "zavu.METHODS" },
    },
    functions = {
      new = {
        doc = "A client; its options are checked now (a bad one raises here).",
        params = { { "opts?", "zavu.Options", "" } },
        returns = { { "zavu.nvim.Client", "client", "" } },
      },
      is_error = {
        doc = "Whether v is an error table of zavu.",
        params = { { "v", "any", "" } },
        returns = { { "boolean", "", "" } },
      },
      probe = {
        doc = "Run nothing in a worker thread: what the thread loaded, for :checkhealth zavu.",
        params = { { "callback", "fun(info: zavu.nvim.ProbeInfo?, err: zavu.Error?)", "" } },
        returns = {},
      },
    },
    internal = { _json_encode = "for the specs" },
  },
  ["zavu.core"] = {
    doc = "The C module. Its documented functions; the rest serve zavu's Lua modules.",
    fields = {
      { "version", "string", "" },
      { "curl_version", "string", "" },
      { "error_mt", "metatable", "" },
    },
    functions = {
      catch_interrupt = {
        doc = "Make Ctrl-C (SIGINT) cancel the calls in flight, as zavu.cancel_all() does.",
        params = {},
        returns = { { "boolean", "ok", "" } },
      },
      interrupted = {
        doc = "How many times Ctrl-C was pressed since catch_interrupt().",
        params = {},
        returns = { { "integer", "", "" } },
      },
      cancel_all = { doc = "zavu.cancel_all()", params = {}, returns = {} },
      curl_info = { doc = "What libcurl offers.", params = {}, returns = { { "zavu.CurlInfo", "", "" } } },
    },
  },
}

return D
