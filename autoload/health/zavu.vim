" :checkhealth zavu for zavu installed as a rock. Neovim finds health checks
" as lua/**/zavu/health.lua or autoload/health/zavu.vim on 'runtimepath'; a
" rock's Lua files are in its tree's share/lua/5.1, which is not laid out for
" the runtimepath (Neovim would name the check "5.1.zavu"). The rock copies
" this directory into its own directory (`luarocks show --rock-dir zavu`),
" which is: put that on 'runtimepath' (:help zavu-install) and this runs the
" Lua check, found on package.path. In a checkout, lua/zavu/health.lua is
" found and preferred, and this file is not used.
function! health#zavu#check() abort
  lua require("zavu.health").check()
endfunction
