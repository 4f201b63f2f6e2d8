-- The plugin's logic: delete on libuv's thread pool, report with vim.notify.
-- Reads ZAVUDEV_API_KEY (and ZAVUDEV_BASE_URL) from the environment.
local M = {}

function M.delete(id, opts)
  require("zavu.nvim").sessions.delete(id, opts, function(ok, err)
    if ok then
      vim.notify("Zavu: deleted session " .. id, vim.log.levels.INFO)
    else
      vim.notify("Zavu: could not delete session " .. id .. ": " .. tostring(err), vim.log.levels.ERROR)
    end
  end)
end

return M
