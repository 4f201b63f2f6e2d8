#!/bin/sh
# Run by luarocks once the rock is deployed (zavu-scm-1.rockspec, hooks.post_install), with the rock's
# directory as $1: writes the shell completion scripts, made by the installed command from its own table,
# where each shell looks for them under the tree's share/: bash-completion (its XDG_DATA_DIRS), zsh
# (site-functions on fpath) and fish (vendor_completions.d). For the tree /usr/local these are on the
# shells' default paths; for a --local tree, see README ("Shell completion"). A failure here never fails
# the install: completion is a convenience.
rockdir=${1:?usage: install.sh ROCKDIR}
tree=$(cd "$rockdir/../../../../.." 2>/dev/null && pwd) || exit 0
zavu=$tree/bin/zavu
[ -x "$zavu" ] || exit 0
# The tree's modules, whether or not the shell that runs luarocks has them on its paths.
v=$(basename "$(cd "$rockdir/../.." && pwd)") # rocks-5.4
v=${v#rocks-}
LUA_PATH="$tree/share/lua/$v/?.lua;$tree/share/lua/$v/?/init.lua;${LUA_PATH:-;}"
LUA_CPATH="$tree/lib/lua/$v/?.so;${LUA_CPATH:-;}"
export LUA_PATH LUA_CPATH
write() { # shell, file under share/
    mkdir -p "$(dirname "$tree/share/$2")" 2>/dev/null &&
        "$zavu" completion "$1" > "$tree/share/$2.tmp" 2>/dev/null &&
        mv "$tree/share/$2.tmp" "$tree/share/$2" ||
        { rm -f "$tree/share/$2.tmp"; echo "zavu: no $1 completion written under $tree/share" >&2; }
}
write bash bash-completion/completions/zavu
write zsh zsh/site-functions/_zavu
write fish fish/vendor_completions.d/zavu.fish
exit 0
