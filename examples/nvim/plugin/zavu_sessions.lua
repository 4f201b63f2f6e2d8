-- :ZavuSessionDelete[!] {id} - delete a Zavu WhatsApp Alternative session
-- without freezing the editor (with !, a session that is already gone is fine).
if vim.g.loaded_zavu_sessions then return end
vim.g.loaded_zavu_sessions = true

vim.api.nvim_create_user_command("ZavuSessionDelete", function(cmd)
  require("zavu_sessions").delete(cmd.args, { missing_ok = cmd.bang })
end, { nargs = 1, bang = true, desc = "Delete a Zavu WhatsApp Alternative session" })
