#!/bin/sh
# dockerlint.sh Dockerfile: a few of hadolint's rules, for a machine
# without it. Prints "LINE: problem" for each and exits 1 if any.
awk '
function bad(msg) { printf "%d: %s\n", NR, msg; n++ }
# join continued lines
{ line = line $0; if (sub(/\\$/, "", line)) next; cur = line; line = "" }
cur ~ /^[ \t]*(#|$)/ { next }
{ split(cur, w, /[ \t]+/); ins = toupper(w[1]) }
ins == "FROM" && (cur !~ /:[A-Za-z0-9._-]+/ || cur ~ /:latest/) { bad("FROM without a pinned tag") }
ins == "FROM" { stages++ }
ins == "ADD" && cur ~ /https?:\/\// { bad("ADD of a URL: use curl in a RUN and check it") }
ins == "ADD" && cur !~ /https?:\/\// { bad("ADD of local files: use COPY") }
ins == "RUN" && cur ~ /apt-get (-[a-z]+ )*install/ && cur !~ /--no-install-recommends/ { bad("apt-get install without --no-install-recommends") }
ins == "RUN" && cur ~ /apt-get (-[a-z]+ )*install/ && cur !~ /-y/ { bad("apt-get install without -y") }
ins == "RUN" && cur ~ /apt-get update/ && cur !~ /rm -rf \/var\/lib\/apt\/lists/ { bad("apt-get update without removing /var/lib/apt/lists in the same RUN") }
ins == "RUN" && cur ~ /(^|[ ;&|])sudo /  { bad("sudo in a RUN") }
ins == "RUN" && cur ~ /(^|[ ;&])cd / { bad("cd in a RUN: use WORKDIR") }
ins == "CMD" || ins == "ENTRYPOINT" { if (cur !~ /\[/) bad(ins " in shell form: use the JSON form") }
ins == "USER" { user = w[2] }
ins == "MAINTAINER" { bad("MAINTAINER is deprecated: use a LABEL") }
END {
	if (user == "" || user ~ /^(root|0)(:|$)/) { printf "%d: the last stage runs as root\n", NR; n++ }
	exit n > 0
}' "$1"
