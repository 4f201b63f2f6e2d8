-- :ZavuSessionDelete[!] {id} ... - delete Zavu WhatsApp Alternative sessions
-- without freezing the editor (with !, a session that is already gone is fine).
-- :ZavuSessions - list the sessions in a scratch buffer; D (or dd) deletes the
-- one under the cursor after a confirmation, R refreshes, q closes.
if vim.g.loaded_zavu_sessions then return end
vim.g.loaded_zavu_sessions = true

vim.api.nvim_create_user_command(
  "ZavuSessionDelete",
  function(cmd) require("zavu_sessions").delete(cmd.fargs, { missing_ok = cmd.bang }) end,
  { nargs = "+", bang = true, desc = "Delete Zavu WhatsApp Alternative sessions" }
)

vim.api.nvim_create_user_command(
  "ZavuSessions",
  function() require("zavu_sessions").open() end,
  { nargs = 0, desc = "List Zavu WhatsApp Alternative sessions" }
)
