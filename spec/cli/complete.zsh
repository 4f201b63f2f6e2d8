# zsh -f spec/cli/complete.zsh SCRIPT LINE...: type each LINE and a Tab into
# a real interactive zsh (in a pseudo-terminal: zsh/zpty) whose completion
# system is on (compinit) with zavu's completion loaded - SCRIPT sourced, as
# `eval "$(zavu completion zsh)"` in .zshrc does, or, when SCRIPT is a
# directory, found as _zavu on $fpath - and print the matches each Tab
# offered, one a line, then "<end>".
if [[ $1 == --inner ]]; then
    # Sourced by the interactive zsh: the completion system, the script, and
    # a compadd that also writes each match it adds to stderr.
    if [[ -d $2 ]]; then fpath=($2 $fpath); fi
    autoload -Uz compinit && compinit -u -D
    if [[ -f $2 ]]; then source $2; fi
    compadd() {
        # -O, -A, -D: the completion system's own bookkeeping, not matches
        if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
            builtin compadd "$@"
            return $?
        fi
        local -a hits
        builtin compadd -A hits "$@"
        local rc=$?
        (( $#hits )) && print -rl -- $hits >&2
        return rc
    }
    bindkey -e
    PS1='<P%!>' # the history number: a new prompt, not one redrawn after a list
    return 0
fi

zmodload zsh/zpty || exit 2
local out=$(mktemp) chunk script=${1:A}
local -i n=2
shift
zpty z zsh -f -i
# Wait for the prompt of command n: zle draws it once the terminal is in its
# raw mode (what is typed before would meet the terminal's own ^U).
prompt() { zpty -r -m z chunk "*<P$n>*" || exit 2 }
zpty -w z "exec 2>${(q)out}; source ${(q)${0:A}} --inner ${(q)script}"
prompt
for line in "$@"; do
    zpty -n -w z "$line"$'\t'
    zpty -n -w z $'\C-e\C-u'
    zpty -w z 'print -u2 -- "<end>"'
    n+=1
    prompt
done
zpty -w z exit
zpty -d z
cat $out
rm -f $out
