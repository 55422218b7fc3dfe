# bash completion for gpucmd(1): commands, the options each command takes
# (the same table as gpucmd's own parser), files for kernel-add and -o.
_gpucmd()
{
	local cur prev cmd word i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--session|--reason) return ;;
	esac
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--socket|--session|--reason|-o|--output) ((i++)) ;;
		-*) ;;
		*) cmd=$word; break ;;
		esac
	done
	local opts="--socket --help --version"
	case $cmd in
	'') COMPREPLY=($(compgen -W "info kernels kernel-add selftest memory status trace ping bench evict $opts" -- "$cur"))
	    return ;;
	info|kernels|memory) opts="$opts --json" ;;
	kernel-add) opts="$opts --json"
		[[ $cur != -* ]] && { COMPREPLY=($(compgen -f -X '!*.spv' -- "$cur") $(compgen -d -- "$cur")); return; } ;;
	status) opts="$opts --json --prometheus --watch" ;;
	trace) opts="$opts --session --output --clear" ;;
	evict) opts="$opts --reason" ;;
	bench) [[ $cur != -* ]] && { COMPREPLY=($(compgen -d -- "$cur")); return; } ;;
	esac
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -F _gpucmd gpucmd
