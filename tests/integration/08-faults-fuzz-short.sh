#!/usr/bin/env bash
# test-cost: 120
# A short run of every libFuzzer target (make fuzz runs them longer):
# each parser that sees outside data gets a few seconds of generated
# input from its committed seeds, under ASan and UBSan.
. "$(dirname "$0")/lib.sh"
if ! make -s -C "$GRILLD_TOP" fuzz-build >"$T/build.log" 2>&1; then
	bail "the fuzz targets build with clang: $(tail -5 "$T/build.log")"
fi
cd "$GRILLD_TOP" || bail "cd"
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok * - }" ;;
	"not ok "*) not_ok "${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done < <(FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-5} bash tests/fuzz/run.sh)
done_testing
