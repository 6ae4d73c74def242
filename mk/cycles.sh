#!/bin/sh
# Fails when two or more files of common/ call each other in a cycle
# (a.c uses b.c's symbols and b.c, directly or through others, a.c's):
# common/ is a library of layers, each module leaning only on those
# below it. Reads the objects' symbol tables (nm), so it sees what the
# linker sees: calls and data, not includes.
#   sh mk/cycles.sh build/release/common
dir=${1:-build/release/common}
set -- "$dir"/*.o
[ -f "$1" ] || { echo "cycles: no objects in $dir (build first)" >&2; exit 1; }
for o; do
	m=$(basename "$o" .o)
	nm "$o" | awk -v m="$m" '
	    $1 == "U" { print "U", m, $2; next }
	    NF == 3 && $2 ~ /^[TDBRCGSV]$/ { print "D", m, $3 }'
done | awk '
	$1 == "D" { def[$3] = $2; next }
	{ use[++n] = $2 " " $3 }
	END {
		# The graph: module -> module whose symbol it uses.
		for (i = 1; i <= n; i++) {
			split(use[i], u, " ")
			d = def[u[2]]
			if (d == "" || d == u[1] || ((u[1], d) in edge))
				continue
			edge[u[1], d] = 1
			out[u[1]] = out[u[1]] " " d
			mods[u[1]] = mods[d] = 1
		}
		# Cycles: a module that reaches itself (depth-first, from each).
		bad = 0
		for (m in mods) {
			delete seen
			top = 0
			stack[++top] = m
			path[m] = m
			while (top > 0) {
				x = stack[top--]
				k = split(out[x], next_, " ")
				for (j = 1; j <= k; j++) {
					y = next_[j]
					if (y == m) {
						# Said once, from its first module.
						c = split(path[x], on, " -> ")
						for (f = 1; f <= c; f++)
							if (on[f] < m)
								break
						if (f > c)
							print "cycles: " path[x] \
							    " -> " m > "/dev/stderr"
						bad = 1
						continue
					}
					if (y in seen)
						continue
					seen[y] = 1
					path[y] = path[x] " -> " y
					stack[++top] = y
				}
			}
		}
		exit bad
	}'
