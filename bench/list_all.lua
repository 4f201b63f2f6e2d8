-- list_all.lua BASE_URL KEY: time client.sessions.all() over every page (100
-- a page), as bench/raw_list.c does the same pages; prints "<seconds> <items>".
local zavu = require "zavu"
local core = require "zavu.core"
local client = zavu.new { api_key = arg[2], base_url = arg[1] }
local t0 = core.now()
local all = assert(client.sessions.all { limit = 100 })
io.write(("%.6f %d\n"):format(core.now() - t0, #all))
