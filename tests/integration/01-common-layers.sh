#!/usr/bin/env bash
# common/ is a library of layers: no two of its files call each other in
# a cycle (mk/cycles.sh, run by every build of libgrilld.a). The check
# passes on the tree as built, and names the cycle of three objects made
# here that call each other round.
. "$(dirname "$0")/lib.sh"

check "no cycle among the objects of common/" \
	sh "$GRILLD_TOP/mk/cycles.sh" "$BUILD/common"

mkdir -p "$T/cyc"
printf 'int b(void);\nint a(void) { return b(); }\n' >"$T/cyc/a.c"
printf 'int c(void);\nint b(void) { return c(); }\n' >"$T/cyc/b.c"
printf 'int a(void);\nint c(void) { return a(); }\n' >"$T/cyc/c.c"
# d leans on the cycle without being in it.
printf 'int a(void);\nint d(void) { return a(); }\n' >"$T/cyc/d.c"
(cd "$T/cyc" && cc -c a.c b.c c.c d.c) || bail "cc builds the fixture"
sh "$GRILLD_TOP/mk/cycles.sh" "$T/cyc" 2>"$T/cyc.err"
check_eq "a cycle fails the check" 1 "$?"
check_eq "and is said once, from its first file" "cycles: a -> b -> c -> a" \
	"$(cat "$T/cyc.err")"
rm "$T/cyc/c.o"
check "without it, the rest passes" sh "$GRILLD_TOP/mk/cycles.sh" "$T/cyc"
done_testing
