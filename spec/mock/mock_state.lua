-- mock_state: the mock's small Zavu - sessions and egress nodes with real
-- state in nginx's shared dictionary, kept apart per API key (each spec
-- uses a key of its own, so listings are deterministic).
--
-- Life cycle: a session is "initializing" until a control moves it. One
-- whose displayName is "auto-<ms>" moves on by itself every <ms> ms:
-- initializing, qr_ready (three QR codes, one per step), authenticating,
-- ready (with a phoneNumber).
--
-- Controls (JSON bodies):
--   POST /_mock/seed      { key, count, status?, createdAt?, prefix? }  sessions made at once (-> their ids);
--                         { key, ids = {...} } makes sessions with those ids
--   POST /_mock/state/ID  { status, lastError?, qrCode? }               a session's state, as given
--   POST /_mock/misbehave { key, mode = "repeat-cursor"|"broken-json"|"broken-json-later"|"slow-later"|"" } listings
--                         of that key ("broken-json-later": every page after the first)
--   POST /_mock/answer    { key, body?, status? }  every request with that key, on any route,
--                         answers status (200) and body (bytes as given); no body: answer normally
local cjson = require "cjson.safe"

local M = {}
local dict = ngx.shared.mock
local AUTO_STEPS = { "initializing", "qr_ready", "qr_ready", "qr_ready", "authenticating", "ready" }

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t)) end

local function new_id(prefix) return ("%s_%d%04d"):format(prefix, ngx.time() % 1000000, dict:incr("ids", 1, 0)) end

local function load(kind, id)
  local text = dict:get(kind .. ":" .. id)
  return text and cjson.decode(text)
end

local function save(kind, id, v) assert(dict:set(kind .. ":" .. id, cjson.encode(v))) end

-- Index of a key's objects in creation order: ns:<kind>:<key>:<n> = id.
local function append(kind, key, id)
  local n = dict:incr("n:" .. kind .. ":" .. key, 1, 0)
  dict:set("ns:" .. kind .. ":" .. key .. ":" .. n, id)
end

-- The session as the API shows it now (auto sessions move with time).
local function view(s)
  if s.auto and not s.fixed then
    local step = math.floor((ngx.now() - s.born) * 1000 / s.auto) + 1
    if step > #AUTO_STEPS then step = #AUTO_STEPS end
    s.status = AUTO_STEPS[step]
    s.qrCode = s.status == "qr_ready" and ("2@qr-" .. s.id .. "-" .. step) or nil
    s.phoneNumber = s.status == "ready" and "+56912345678" or nil
  end
  local out = {}
  for k, v in pairs(s) do
    if k ~= "key" and k ~= "auto" and k ~= "born" and k ~= "fixed" then out[k] = v end
  end
  out.qrCode = out.qrCode or cjson.null -- as the API does: present, null
  return out
end

function M.new_session(key, body, id, status, created)
  local s = {
    id = id or new_id("was"),
    key = key,
    status = status or "initializing",
    displayName = body.displayName,
    egress = body.egress or { kind = "external" },
    createdAt = created or iso(ngx.time()),
    born = ngx.now(),
  }
  local ms = type(s.displayName) == "string" and tonumber(s.displayName:match("^auto%-(%d+)$"))
  if ms then s.auto = ms end
  save("s", s.id, s)
  append("s", key, s.id)
  return s
end

function M.session(key, id)
  local s = load("s", id)
  if not s or s.key ~= key then return nil end
  return s
end

function M.session_view(s) return view(s) end

--- A session as stored, whatever its key (the controls' view), or nil.
function M.stored(id) return load("s", id) end

function M.update_session(s, fields)
  for k, v in pairs(fields) do
    s[k] = v
  end
  save("s", s.id, s)
  return view(s)
end

function M.delete_session(key, id)
  local s = M.session(key, id)
  if not s then return false end
  dict:delete("s:" .. id)
  return true
end

function M.new_node(key, body)
  local n = {
    id = new_id("nd"),
    key = key,
    senderId = body.senderId,
    label = body.label,
    status = "pending",
    createdAt = iso(ngx.time()),
  }
  save("n", n.id, n)
  append("n", key, n.id)
  return n
end

function M.node(key, id)
  local n = load("n", id)
  if not n or n.key ~= key then return nil end
  return n
end

function M.node_view(n)
  return { id = n.id, senderId = n.senderId, label = n.label, status = n.status, createdAt = n.createdAt }
end

function M.delete_node(key, id)
  if not M.node(key, id) then return false end
  dict:delete("n:" .. id)
  return true
end

function M.pairing()
  return {
    token = "pt_" .. ngx.md5(ngx.now() .. dict:incr("ids", 1, 0)):sub(1, 24),
    gatewayUrl = "wss://egress.zavu.dev",
    wsPath = "/egress/agent",
    expiresAt = iso(ngx.time() + 600),
  }
end

-- A page of a key's objects: cursors are opaque offsets into the index.
-- Returns the page table, or nil and an error message.
function M.list(kind, key, limit, cursor, keep)
  local start = 1
  if cursor then
    start = tonumber(cursor:match("^c_(%d+)$"))
    if not start then return nil, "invalid cursor" end
  end
  local total = dict:get("n:" .. kind .. ":" .. key) or 0
  local items, i = {}, start
  while i <= total and #items < limit do
    local id = dict:get("ns:" .. kind .. ":" .. key .. ":" .. i)
    local obj = id and load(kind, id)
    if obj and (not keep or keep(obj)) then items[#items + 1] = kind == "s" and view(obj) or M.node_view(obj) end
    i = i + 1
  end
  local page = { items = items, nextCursor = cjson.null }
  -- Is anything left? Look ahead so the last page has no cursor.
  for j = i, total do
    local id = dict:get("ns:" .. kind .. ":" .. key .. ":" .. j)
    local obj = id and load(kind, id)
    if obj and (not keep or keep(obj)) then
      page.nextCursor = "c_" .. i
      break
    end
  end
  local mode = dict:get("misbehave:" .. key)
  if mode == "repeat-cursor" then page.nextCursor = "c_1" end
  return page, nil, mode
end

--- What every request with this key answers instead ({ status, body }), or nil.
function M.answer(key)
  local text = dict:get("answer:" .. key)
  return text and cjson.decode(text)
end

-- ---- controls ----

local function read_json()
  ngx.req.read_body()
  return cjson.decode(ngx.req.get_body_data() or "") or {}
end

function M.control(what, arg)
  local b = read_json()
  if what == "seed" then
    local t, ids = b.createdAt, {}
    if type(b.ids) == "table" then b.count = #b.ids end
    for i = 1, b.count or 1 do
      local id = type(b.ids) == "table" and b.ids[i]
        or b.prefix and (b.prefix .. "_" .. i .. "_" .. dict:incr("ids", 1, 0))
        or nil
      ids[i] = M.new_session(b.key, { displayName = "seeded " .. i }, id, b.status, t).id
    end
    return 200, { seeded = b.count or 1, ids = ids }
  elseif what == "state" then
    local s = load("s", ngx.unescape_uri(arg))
    if not s then return 404, { code = "no_such_session", message = arg } end
    b.fixed = true
    return 200, M.update_session(s, b)
  elseif what == "answer" then
    if b.body == nil then
      dict:delete("answer:" .. b.key)
    else
      dict:set("answer:" .. b.key, cjson.encode { status = b.status or 200, body = b.body })
    end
    return 200, { answer = b.body ~= nil }
  elseif what == "misbehave" then
    dict:set("misbehave:" .. b.key, b.mode or "")
    return 200, { mode = b.mode }
  end
end

return M
