#!/usr/bin/env lua
-- Replaced by the zavu command (bin/zavu in the checkout, installed by the
-- rock): `zavu sessions delete ID... [--missing-ok] [--from-file FILE|-]`,
-- and the rest of the session life cycle; see `zavu --help`. For the library
-- in a script of your own, see README.md ("Use").
io.stderr:write("delete_session.lua is now `zavu sessions delete ID...`: see `zavu --help`\n")
os.exit(2)
