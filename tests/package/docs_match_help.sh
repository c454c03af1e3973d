#!/usr/bin/env bash
# The man pages and bash completions cannot drift from the programs: every option that
# `ppserver --help` and `ppclient [SUBCOMMAND] --help` print appears in the program's man
# page and completion, every option a completion offers exists, the pages render without
# a warning, and the completions complete what they should.
#   docs_match_help.sh BIN_DIR SOURCE_DIR
set -euo pipefail
BIN=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

# The options a --help text lists: the words at the start of its option lines.
help_options() {
  sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n' | sed 's/=.*//' | sort -u
}
# The item headings of a roff page (the line after each .TP: where an option is described),
# as plain text: \- is -, font changes dropped.
page_items() { sed -n '/^\.TP/{n;p}' "$1" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g'; }

check_program() {  # check_program NAME HELP_TEXT...
  local name=$1; shift
  local page="$SRC/packaging/$name.1" comp="$SRC/packaging/completion/$name"
  local text opts n=0
  text=$(page_items "$page")
  opts=$(printf '%s\n' "$@" | help_options)
  [[ -n $opts ]] || fail "$name: no options found in --help"
  for o in $opts; do
    grep -qE -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" <<< "$text" || fail "$name(1) describes no $o"
    grep -qwe "$o" "$comp" || fail "the $name completion does not offer $o"
    n=$((n + 1))
  done
  # Every long option the completion offers exists (its short ones are compgen's own flags).
  for o in $(grep -oE -- '--[a-z][a-z0-9-]*' "$comp" | sort -u); do
    grep -qx -- "$o" <<< "$opts" || fail "the $name completion offers $o, which --help does not list"
  done
  local warnings
  warnings=$(groff -man -ww -z -Tutf8 "$page" 2>&1) || fail "$name(1) does not render: $warnings"
  [[ -z $warnings ]] || fail "$name(1) renders with warnings: $warnings"
  echo "$name: $n options, each in the man page and the completion"
}

check_program ppserver "$("$BIN/ppserver" --help)"
check_program ppclient "$("$BIN/ppclient" --help)" "$("$BIN/ppclient" run --help)" \
  "$("$BIN/ppclient" nodes --help)" "$("$BIN/ppclient" stats --help)" \
  "$("$BIN/ppclient" top --help)"

# The completions at work (plain bash: they need nothing from bash-completion).
complete_words() {  # complete_words FILE FUNCTION WORD... -> the candidates for the last word
  (
    cd "$DIR"
    source "$1"
    shift
    local fn=$1; shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    "$fn"
    printf '%s\n' "${COMPREPLY[@]}"
  )
}
DIR=$(mktemp -d /tmp/pp-docs-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
touch "$DIR/job.lua" "$DIR/notes.txt" "$DIR/report.json"
C=$SRC/packaging/completion
out=$(complete_words "$C/ppclient" _ppclient ppclient "")
[[ $out == *run* && $out == *nodes* && $out == *stats* && $out == *top* ]] || fail "subcommands: $out"
out=$(complete_words "$C/ppclient" _ppclient ppclient run --no-)
[[ $out == $'--no-echo\n--no-progress' ]] || fail "run --no-: $out"
out=$(complete_words "$C/ppclient" _ppclient ppclient top --r)
[[ $out == "--refresh" ]] || fail "top --r: $out"
out=$(complete_words "$C/ppclient" _ppclient ppclient run --report x.json "")
[[ $out == "job.lua" ]] || fail "run's script: $out"
# After the script's name, words are the script's: files, never ppclient's options.
out=$(complete_words "$C/ppclient" _ppclient ppclient run job.lua --r)
[[ $out != *--report* ]] || fail "ppclient's options offered after the script: $out"
out=$(complete_words "$C/ppclient" _ppclient ppclient run job.lua no)
[[ $out == "notes.txt" ]] || fail "the script's arguments: $out"
out=$(complete_words "$C/ppclient" _ppclient ppclient stats "")
[[ $out == "report.json" ]] || fail "stats: $out"
out=$(complete_words "$C/ppserver" _ppserver ppserver --max-h)
[[ $out == $'--max-handshakes\n--max-handshakes-per-address' ]] || fail "ppserver --max-h: $out"
out=$(complete_words "$C/ppserver" _ppserver ppserver --secret-file j)
[[ $out == "job.lua" ]] || fail "ppserver --secret-file: $out"
echo "docs match --help: all ok"
