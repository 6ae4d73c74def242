#!/usr/bin/env bash
# test-lane: background
# The image, proved without a container engine: the Dockerfile passes a
# lint, .dockerignore keeps the build context to the sources, and the
# build stage (deploy/docker/build.sh, which the Dockerfile runs) builds
# and installs a fresh clone (the committed tree plus this tree's
# uncommitted changes, as the context would hold them).
. "$(dirname "$0")/lib.sh"
cd "$GRILLD_TOP" || bail "no tree"
D=deploy/docker

out=$(sh tests/tools/dockerlint.sh $D/Dockerfile 2>&1)
check_eq "the Dockerfile passes the lint" "" "$out"
out=$(printf 'FROM debian\nRUN apt-get update && apt-get install curl\nCMD grilld-api\n' >"$T/bad" &&
	sh tests/tools/dockerlint.sh "$T/bad" 2>&1)
check_match "the lint finds what it looks for" "pinned tag.*--no-install-recommends.*lists.*shell form.*root" \
	"$(tr '\n' ' ' <<<"$out")"
if command -v hadolint >/dev/null; then check "hadolint accepts the Dockerfile" hadolint $D/Dockerfile; fi
check "the build stage runs deploy/docker/build.sh" grep -q '^RUN sh deploy/docker/build.sh /out$' $D/Dockerfile

# The build context as docker would send it: the tree less .dockerignore.
ctx=$(python3 - <<'PY'
import fnmatch, os
pats = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
def ignored(p):
    for pat in pats:
        pat = pat.lstrip("/")
        q = pat[3:] if pat.startswith("**/") else None
        for cand in [pat] + ([q] if q else []):
            parts = p.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if fnmatch.fnmatchcase(sub, cand) or (q and fnmatch.fnmatchcase(parts[i - 1], q)):
                    return True
    return False
size = n = 0
bad = set()
for root, dirs, files in os.walk("."):
    for f in files:
        p = os.path.relpath(os.path.join(root, f), ".")
        if ignored(p):
            continue
        n += 1
        size += os.path.getsize(os.path.join(root, f))
        top = p.split("/")[0]
        if top in ("build", "bin", "var", ".git") or "node_modules" in p.split("/"):
            bad.add(top)
print(n, size, " ".join(sorted(bad)))
PY
)
read -r ctx_files ctx_bytes ctx_bad <<<"$ctx"
check_eq "the build context holds no build/, bin/, var/, .git or node_modules" "" "${ctx_bad:-}"
if [ "$ctx_bytes" -lt $((20 * 1024 * 1024)) ]; then
	ok "the build context is small ($ctx_files files, $((ctx_bytes / 1024)) KiB)"
else
	not_ok "the build context is small" "$ctx_files files, $ctx_bytes bytes"
fi
for p in build bin var '**/node_modules' /grilld.yaml deploy/.env; do
	check "the context leaves out $p" grep -qxF "$p" .dockerignore
done

# The build stage in a fresh clone. npm prefers its cache (make deps
# filled it), so the test needs no network when the lock is unchanged.
git clone -q --no-local . "$T/clone" || bail "git clone"
git diff HEAD --binary | (cd "$T/clone" && git apply --allow-empty 2>/dev/null || git apply)
for f in $(git ls-files --others --exclude-standard); do
	mkdir -p "$T/clone/$(dirname "$f")" && cp "$f" "$T/clone/$f"
done
if npm_config_prefer_offline=true nice sh "$T/clone/$D/build.sh" "$T/out" >"$T/build.log" 2>&1; then
	ok "deploy/docker/build.sh builds and installs a fresh clone"
else
	not_ok "deploy/docker/build.sh builds and installs a fresh clone" "$(tail -15 "$T/build.log")"
fi
for d in poller ingest api stream twsim; do
	check_match "the image would hold grilld-$d" "^grilld-$d [0-9]" \
		"$("$T/out/usr/local/bin/grilld-$d" -V 2>&1)"
done
check "and the page with its chart library" \
	test -s "$T/out/usr/local/share/grilld/www/node_modules/uplot/dist/uPlot.iife.min.js"
check "and the configuration the image's CMD reads" test -s "$T/out/etc/grilld/grilld.yaml"
check_eq "the image's page folder is where its ENV points" "/usr/local/share/grilld/www" \
	"$(sed -n 's/^ *GRILLD_STREAM_PAGE_DIR=\([^ ]*\).*/\1/p' $D/Dockerfile)"

done_testing
