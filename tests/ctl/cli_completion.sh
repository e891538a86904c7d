#!/usr/bin/env bash
# The bash completion script: commands, subcommands, options and values.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
COMPLETION="$(dirname "$0")/../../ctl/vaultctl.bash-completion"
VT_DIR=$(mktemp -d /tmp/vaultctl-completion.XXXXXX)
trap 'rm -rf "$VT_DIR"' EXIT

vt_check "the completion script is valid bash" bash -n "$COMPLETION"
# complete WORDS...: the candidates for the last word.
complete_words() {
	bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vaultctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" | sort | tr '\n' ' '
}
vt_eq "commands" "token " "$(complete_words vaultctl tok)"
vt_eq "commands after a global option" "rollback rotate " "$(complete_words vaultctl --socket /s ro)"
vt_eq "token subcommands" "create " "$(complete_words vaultctl token cr)"
vt_eq "audit subcommands" "tail verify " "$(complete_words vaultctl audit '')"
vt_eq "command options" "--cas " "$(complete_words vaultctl set x --ca)"
vt_eq "charset values" "hex " "$(complete_words vaultctl rotate x --charset h)"
vt_eq "token create options" "--output-file " "$(complete_words vaultctl token create --out)"
vt_eq "compose subcommands" "migrate secrets " "$(complete_words vaultctl compose '')"
vt_eq "compose migrate options" "--mode " "$(complete_words vaultctl compose migrate -f x.yml --mo)"
vt_eq "compose migrate flags after -n (--dry-run takes no value)" "--import --inject-bin " \
	"$(complete_words vaultctl compose migrate -n --i)"
vt_eq "compose migrate --mode values" "files inject " "$(complete_words vaultctl compose migrate --mode '')"
vt_eq "compose migrate has no --json" " " "$(complete_words vaultctl compose migrate --js)"
vt_eq "compose secrets options" "--dir " "$(complete_words vaultctl compose secrets --d)"
vt_eq "audit tail -n still takes a number" " " "$(complete_words vaultctl audit tail -n '')"
vt_eq "key subcommands" "rekey rotate " "$(complete_words vaultctl key '')"
vt_eq "key rekey options" "--new-key-file --new-passphrase-stdin " \
	"$(complete_words vaultctl key rekey --new)"
vt_eq "key rekey offline options" "--store " "$(complete_words vaultctl key rekey --st)"
vt_eq "key rotate --store" "--store " "$(complete_words vaultctl key rotate --st)"
vt_eq "key rotate --passphrase-stdin" "--passphrase-stdin " "$(complete_words vaultctl key rotate --pa)"
vt_eq "key rekey --kdf values" "interactive moderate " "$(complete_words vaultctl key rekey --kdf '')"
vt_eq "key rekey --new-key-file completes files" "$VT_DIR/k.new " \
	"$(touch "$VT_DIR/k.new"; complete_words vaultctl key rekey --new-key-file "$VT_DIR/k.")"
# Every command that `vaultctl --help` lists is completed.
if [ -n "${VAULTCTL_BIN:-}" ]; then
	listed=$("$VAULTCTL_BIN" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | sort | tr '\n' ' ')
	completed=$(complete_words vaultctl '' | tr ' ' '\n' | grep -vx help | tr '\n' ' ')
	vt_check "vaultctl --help lists commands" test -n "$listed"
	vt_eq "the completion offers every command of vaultctl --help" "$listed" "$completed"
else
	echo "skip - completion vs vaultctl --help (VAULTCTL_BIN not set)"
fi
vt_done
