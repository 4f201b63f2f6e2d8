-- The fault proxy itself (spec/support/faultproxy.c): each mode does what it
-- says, seen from a plain socket on one side and the mock's record on the
-- other. The library's behaviour behind it is in resend_spec.lua.
local H = require "spec.helper"
local faultproxy = require "spec.support.faultproxy"
local socket = require "socket"

local proxy

local function request_for(id, method, extra)
  return (method or "DELETE")
    .. " /v1/whatsapp-alt/sessions/"
    .. id
    .. " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
    .. H.key
    .. "\r\n"
    .. (extra or "")
    .. "\r\n"
end

-- After the peer's close: a reset leaves nothing to send on (the send
-- fails); a FIN still takes one write.
local function was_reset(s) return s:send("x") == nil end

-- Read until the peer closes or resets; returns the bytes, the error
-- ("closed", "connection reset by peer", "timeout") and the seconds it took.
local function read_to_end(s, limit)
  local t, parts = H.now(), {}
  s:settimeout(limit or 3)
  while true do
    local data, err, partial = s:receive(1)
    if data then
      parts[#parts + 1] = data
    else
      parts[#parts + 1] = partial
      return table.concat(parts), err, H.now() - t
    end
  end
end

-- One HTTP answer with a Content-Length (the mock's 204 has none and no body).
local function read_answer(s)
  local head = {}
  while true do
    local line, err = s:receive("*l")
    if not line then return nil, err end
    if line == "" then break end
    head[#head + 1] = line
  end
  local text = table.concat(head, "\n")
  local length = tonumber(text:match("\n[Cc]ontent%-[Ll]ength: *(%d+)") or "0")
  local body = length > 0 and s:receive(length) or ""
  return text, body
end

local function connect()
  local s = assert(socket.tcp())
  s:settimeout(3)
  assert(s:connect("127.0.0.1", proxy.port))
  return s
end

local function hits(id) return H.info(id).hits or 0 end

describe("the fault proxy", function()
  before_each(function() proxy = faultproxy.start() end)
  after_each(function() proxy:stop() end)

  it("pass: relays the request and the whole answer, and keeps the connection", function()
    local s, a, b = connect(), "fp-pass-a-" .. H.nonce(), "fp-pass-b-" .. H.nonce()
    s:send(request_for(a))
    assert.matches("^HTTP/1.1 204", (read_answer(s)))
    s:send(request_for(b))
    assert.matches("^HTTP/1.1 204", (read_answer(s)))
    s:close()
    assert.are.same({ 1, 1 }, { hits(a), hits(b) })
    assert.are.same({ 1, 2, 2 }, { proxy:stats().connections, proxy:stats().requests, proxy:stats().pass })
  end)

  it("refuse: connections are refused for the window, then accepted again", function()
    proxy:refuse(400)
    local s = socket.tcp()
    local ok, err = s:connect("127.0.0.1", proxy.port)
    s:close()
    assert.is_nil(ok)
    assert.matches("refused", err)
    socket.sleep(0.5)
    local id = "fp-refuse-" .. H.nonce()
    local c = connect()
    c:send(request_for(id))
    assert.matches("^HTTP/1.1 204", (read_answer(c)))
    c:close()
    assert.are.equal(1, hits(id))
  end)

  it("refuse as a request's mode: relays it, then refuses new connections", function()
    proxy:force("refuse:400")
    local s, id = connect(), "fp-refuse2-" .. H.nonce()
    s:send(request_for(id))
    assert.matches("^HTTP/1.1 204", (read_answer(s)))
    s:close()
    local t = socket.tcp()
    local ok, err = t:connect("127.0.0.1", proxy.port)
    t:close()
    assert.is_nil(ok)
    assert.matches("refused", err)
    assert.are.equal(1, hits(id))
  end)

  it("reset_before: resets the connection; the server never sees the request", function()
    proxy:force("reset_before")
    local s, id = connect(), "fp-rb-" .. H.nonce()
    s:send(request_for(id))
    local bytes, err = read_to_end(s)
    local reset = was_reset(s)
    s:close()
    assert.are.same({ "", "closed", true }, { bytes, err, reset })
    assert.are.equal(0, hits(id))
  end)

  it("eat: reads the request whole, closes without a byte; not relayed", function()
    proxy:force("eat")
    local s, id = connect(), "fp-eat-" .. H.nonce()
    s:send(request_for(id))
    local bytes, err = read_to_end(s)
    local reset = was_reset(s)
    s:close()
    assert.are.same({ "", "closed", false }, { bytes, err, reset })
    assert.are.equal(0, hits(id))
  end)

  it("lose: the server performs the request, the answer is dropped, the connection closed", function()
    proxy:force("lose")
    local s, id = connect(), "fp-lose-" .. H.nonce()
    s:send(request_for(id))
    local bytes, err = read_to_end(s)
    local reset = was_reset(s)
    s:close()
    assert.are.same({ "", "closed", false }, { bytes, err, reset })
    assert.are.equal(1, hits(id))
  end)

  it("reset_mid: sends that many bytes of the answer, then resets", function()
    proxy:force("reset_mid:30")
    local s, id = connect(), "fp-rm-" .. H.nonce()
    s:send(request_for(id, "GET"))
    local bytes, err = read_to_end(s)
    local reset = was_reset(s)
    s:close()
    assert.are.equal(30, #bytes)
    assert.matches("^HTTP/1.1 ", bytes)
    assert.are.same({ "closed", true }, { err, reset })
    assert.are.equal(1, hits(id))
  end)

  it("stall: holds the answer for the time given, then sends it whole", function()
    proxy:force("stall:400")
    local s, id = connect(), "fp-stall-" .. H.nonce()
    local t = H.now()
    s:send(request_for(id))
    local head = read_answer(s)
    local took = H.now() - t
    s:close()
    assert.matches("^HTTP/1.1 204", head)
    assert.is_true(took >= 0.39 and took < 2, "took " .. took)
  end)

  it("trickle: sends the answer one byte per write, that many ms apart", function()
    proxy:force("trickle:3")
    local s, id = connect(), "fp-trickle-" .. H.nonce()
    s:send(request_for(id, "GET")) -- a 404 with a JSON body
    local t = H.now()
    assert(s:receive(1))
    s:settimeout(0) -- right after the first byte, at most a byte or two more is there
    local _, _, early = s:receive(100)
    s:settimeout(3)
    local head, body = read_answer(s)
    local took = H.now() - t
    s:close()
    assert.is_true(#early <= 2, "got " .. #early .. " bytes at once")
    assert.is_string(head)
    local total = 1 + #early + #head + #body
    assert.is_true(took >= (total - 5) * 0.003, ("%d bytes in %.3f s"):format(total, took))
  end)

  it("drop_second: answers the first request of a connection, loses the second", function()
    proxy:force("drop_second")
    local s, a, b = connect(), "fp-ds-a-" .. H.nonce(), "fp-ds-b-" .. H.nonce()
    s:send(request_for(a))
    assert.matches("^HTTP/1.1 204", (read_answer(s)))
    s:send(request_for(b))
    local bytes, err = read_to_end(s)
    local reset = was_reset(s)
    s:close()
    assert.are.same({ "", "closed", false }, { bytes, err, reset })
    assert.are.same({ 1, 1 }, { hits(a), hits(b) }) -- the server did see the second
  end)

  it("draws the same faults for the same seed and requests, whatever the port", function()
    local tag = H.nonce()
    local function run(seed)
      local p = faultproxy.start { seed = seed, weights = "pass=3,reset_before=1,eat=1,stall=1", stall_max = 1 }
      local modes = {}
      for i = 1, 40 do
        local before = p:stats()
        local s = socket.tcp()
        s:settimeout(3)
        assert(s:connect("127.0.0.1", p.port))
        s:send(request_for("fp-seed-" .. tag .. "-" .. i, "DELETE", "Connection: close\r\n"))
        read_to_end(s, 3)
        s:close()
        local after = p:stats()
        for _, m in ipairs { "pass", "reset_before", "eat", "stall" } do
          if after[m] > before[m] then modes[i] = m end
        end
      end
      p:stop()
      return table.concat(modes, " "), p.port
    end
    local first, port1 = run(12345)
    local again, port2 = run(12345)
    local other = run(54321)
    assert.are_not.equal(port1, port2)
    assert.are.equal(first, again)
    assert.are_not.equal(first, other)
    for _, m in ipairs { "pass", "reset_before", "eat", "stall" } do
      assert.matches(m, first)
    end
  end)
end)
