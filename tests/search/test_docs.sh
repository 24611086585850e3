#!/bin/sh
# test_docs.sh — every function cited in docs/stylegan2.md and
# docs/saliency.md (written `name()`) is defined in the sources, and the
# code's comments no longer point outside the repository.
. "$(dirname "$0")/../lib.sh"
for doc in docs/stylegan2.md docs/saliency.md; do
    check "[ -f $doc ]" "$doc missing"
    names=$(grep -o '`[A-Za-z_][A-Za-z0-9_]*()`' "$doc" | tr -d '`()' | sort -u)
    n=0
    for f in $names; do
        n=$((n+1))
        check "grep -qE '(^|[^A-Za-z0-9_])$f\\(' engine/*.c nets/*.c search/*.c weightconv/*.c" \
              "$doc cites $f(), which no source defines"
    done
    check "[ $n -ge 15 ]" "$doc cites only $n functions"
done
# docs/architecture.md names every source file
for d in engine nets search weightconv; do
    for f in "$d"/*.c "$d"/*.h; do
        check "grep -q '$(basename "$f")' docs/architecture.md" "docs/architecture.md does not name $f"
    done
done
check "! grep -rn '\\.\\./shared\\|FORMAT\\.md' engine nets search weightconv --include=*.c --include=*.h | grep -v 'getenv\\|SALIENT_SHARED\\|\"\\.\\./shared\"'" \
      "comments still point outside the repository"
finish test_docs
