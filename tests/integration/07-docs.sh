#!/usr/bin/env bash
# The documentation: every reference resolves inside the repository, the
# generated parts are current, the manual pages render without a troff
# warning, and `make help` names every target.
. "$(dirname "$0")/lib.sh"
cd "$GRILLD_TOP" || bail "no tree"

check "docs/configuration.md lists the options as the table has them" \
	diff -u <(sed -n '/^<!-- Generated from common\/options.c/,$p' docs/configuration.md) \
	<("$BUILD/tools/confgen" -d)

# References: Markdown links to local files, and words that look like a
# path (a slash and a known extension) in the docs and the deploy files.
# Each must name a file inside the repository, from the file's folder or
# from the top. Placeholders (NAME, <name>, *, {x}) are not references.
top=$(pwd -P)
bad=""
n=0
files=$(ls README.md docs/*.md docs/man/*
	find deploy -type f \( -name '*.md' -o -name '*.yaml' -o -name '*.yml' \
		-o -name '*.service' -o -name '*.json' -o -name 'Dockerfile' -o -name '*.sh' \))
for f in $files; do
	dir=$(dirname "$f")
	refs=$({ grep -oE '\]\([^)#[:space:]]+' "$f" | sed 's/^](//' |
		grep -vE '^[a-z]+:'
		grep -oP '(?<![/\w.:$-])(\.\./|[A-Za-z0-9_-]+/)+[A-Za-z0-9_.-]+\.(md|yaml|yml|sh|c|h|json|mjs|service|[58])\b' "$f"
	} | sort -u)
	for ref in $refs; do
		case $ref in *'*'* | *'{'* | *'<'* | /* | *NAME*) continue ;; esac
		n=$((n + 1))
		found=no
		for base in "$dir" .; do
			p=$(realpath -m "$base/$ref")
			case $p in "$top"/*) [ -e "$p" ] && found=yes ;; esac
		done
		[ $found = yes ] || bad="$bad $f:$ref"
	done
done
check_eq "all $n references in README, docs/ and deploy/ resolve inside the repository" "" "$bad"
check "the README links docs/configuration.md" grep -q '(docs/configuration.md)' README.md

# Manual pages: no troff warning, and the sections an operator looks for.
for m in docs/man/*.[58]; do
	w=$(groff -ww -z -man "$m" 2>&1)
	check_eq "$(basename "$m") renders without a troff warning" "" "$w"
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	check_eq "man --warnings is silent on $(basename "$m")" "" "$w"
	for s in SYNOPSIS ENVIRONMENT FILES "SEE ALSO"; do
		case $m:$s in *.5:SYNOPSIS) continue ;; esac
		check "$(basename "$m") has a $s section" grep -qx "\\.SH \"\\?$s\"\\?" "$m"
	done
done

# make help: every target the Makefile declares .PHONY, each on a line.
help=$(make --no-print-directory help)
missing=""
for t in $(sed -n '/^\.PHONY:/,/[^\\]$/p' Makefile | tr -d '\\' | sed 's/^\.PHONY://'); do
	grep -qE "^make $t( |$)" <<<"$help" || missing="$missing $t"
done
check_eq "make help lists every target" "" "$missing"

done_testing
