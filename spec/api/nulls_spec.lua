-- JSON null members leave an answer's objects before it is decoded (the
-- engine takes them out of the text: zavu_json_drop_nulls). Whatever the
-- text, the value a caller gets is lua-cjson's, with every object's null
-- members absent and arrays' nulls kept; a text that is not JSON stays an
-- invalid_response.
local H = require "spec.helper"
local cjson = require "cjson"

local key = "zv_live_nulls_" .. H.nonce()
local client = H.client { api_key = key, max_retries = 0 }

-- What the caller must get for text: lua-cjson's value, nulls out of objects.
local function reference(text)
  local function clean(v)
    if type(v) ~= "table" then return v end
    local is_array = #v > 0 or next(v) == nil
    for k, x in pairs(v) do
      if x == cjson.null and not is_array then
        v[k] = nil
      else
        v[k] = clean(x)
      end
    end
    return v
  end
  local decoder = cjson.new() -- as strict as the library's: no NaN, no 09, 64 deep
  decoder.decode_invalid_numbers(false)
  decoder.decode_max_depth(64)
  return clean(decoder.decode(text))
end

local function answered(text)
  H.mock_answer(key, text)
  local v, err = client.request("GET", "/v1/senders")
  H.mock_answer(key)
  return v, err
end

-- A random JSON text: objects with null members anywhere, arrays with
-- nulls, strings that look like JSON, and whitespace between tokens.
local rng = 12345
local function rand(n)
  rng = (rng * 1103515245 + 12345) % 2147483648
  return rng % n + 1
end
local STRINGS =
  { "plain", 'a "quoted" null', "comma, colon: brace} bracket]", "back\\slash\\", "null", '\\"', "é ✅" }
local function ws() return ({ "", " ", "\n", "\t ", "" })[rand(5)] end
local function gen(depth)
  local kind = depth > 3 and rand(4) or rand(7)
  if kind == 1 then return "null" end
  if kind == 2 then return cjson.encode(STRINGS[rand(#STRINGS)]) end
  if kind == 3 then return tostring(rand(1000) - 500) end
  if kind == 4 then return ({ "true", "false", "1.5", "0", "-0.25" })[rand(5)] end
  if kind == 5 or kind == 6 then
    local parts = {}
    for i = 1, rand(5) - 1 do
      parts[i] = ws() .. cjson.encode(STRINGS[rand(#STRINGS)] .. i) .. ws() .. ":" .. ws() .. gen(depth + 1) .. ws()
    end
    return "{" .. ws() .. table.concat(parts, ",") .. ws() .. "}"
  end
  local parts = {}
  for i = 1, rand(4) - 1 do
    parts[i] = ws() .. gen(depth + 1) .. ws()
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

describe("null members of an answer", function()
  it("are absent from every object; arrays keep their nulls; the rest is lua-cjson's", function()
    local cases = {
      '{"a":null}',
      '{"a":null,"b":1}',
      '{"a":1,"b":null}',
      '{"a":null,"b":null,"c":null}',
      '{ "a" : null , "b" : [null, {"c": null, "d": "null"}] , "e":null }',
      '{"s":"x\\":null,\\"y","t":null}',
      '{"k\\\\":null,"m":"\\\\"}',
      '[null, {"a": null}, [null]]',
      '{"deep":{"deeper":{"deepest":null,"n":null},"z":null},"items":[]}',
      '{"a":nullx}',
    }
    for _ = 1, 150 do
      local t = gen(0)
      if t:sub(1, 1) == "{" or t:sub(1, 1) == "[" then
        cases[#cases + 1] = t
        -- and the same broken by one byte taken out or put in: JSON or not,
        -- the caller gets what lua-cjson says of it
        local at = rand(#t)
        cases[#cases + 1] = t:sub(1, at - 1) .. t:sub(at + 1)
        cases[#cases + 1] = t:sub(1, at) .. ({ ",", ":", "{", "}", '"', "null" })[rand(6)] .. t:sub(at + 1)
      end
    end
    for _, text in ipairs(cases) do
      local ok, want = pcall(reference, text)
      local got, err = answered(text)
      if ok and type(want) == "table" then
        assert.are.same(want, got, text)
      else
        assert.is_nil(got, text)
        assert.are.equal("invalid_response", err.code, text)
      end
    end
  end)

  it("never turn a text that is not JSON into one", function()
    for _, text in ipairs {
      '{"a":null,}',
      '{"a":null "b":1}',
      '{"x" "a":null}',
      '{"a":null',
      '[{"a":null,]',
      '{,"a":null}',
      '{"a":null,,"b":1}',
      '{"a" null}',
    } do
      local got, err = answered(text)
      assert.is_nil(got, text)
      assert.are.equal("invalid_response", err.code, text)
    end
  end)

  it("still say a number too large for a double is invalid_response", function()
    local _, err = answered('{"a":null,"n":1e999}')
    assert.are.equal("invalid_response", err.code)
    assert.matches("too large", err.message)
  end)
end)
