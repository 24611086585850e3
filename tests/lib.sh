# tests/lib.sh — shared by the shell tests (sourced, not run):
# defaults for $BIN / $SALIENT_SHARED / $SALIENT_TMP, the pass/fail/skip
# counters and the closing "NAME: N passed, N failed, N skipped" line that
# tests/run.sh reads.
#   check 'shell condition' "message if it fails"
#   skip "why"                       one "skipped: ..." line, counted
#   need_shared SET || { finish NAME; exit 0; }     fixture set under $SALIENT_SHARED
#   need_command PROG PACKAGE || ...                an optional program
# $SALIENT_SHARED is made absolute here (relative to the repository root,
# where tests/run.sh runs), so a test may cd anywhere and still use it.
# SALIENT_NO_SKIP=1 (set by .ci/run) turns every skip into a failure.
# $SALIENT_FULL=1 (make test-full) asks for the full sizes and repetitions.
: "${BIN:=bin}"
: "${SALIENT_SHARED:=../shared}"
: "${SALIENT_TMP:=build/tmp}"
LIB_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $SALIENT_SHARED in
    /*) ;;
    *) SALIENT_SHARED=$LIB_ROOT/$SALIENT_SHARED ;;
esac
export SALIENT_SHARED
pass=0; fail=0; skipped=0
ok()    { pass=$((pass+1)); }
bad()   { fail=$((fail+1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
skip() {
    case ${SALIENT_NO_SKIP:-0} in
        0|'') skipped=$((skipped+1)); echo "skipped: $(basename "$0"): $*" ;;
        *) bad "would skip (SALIENT_NO_SKIP is set): $*" ;;
    esac
}
need_shared() { # SET: a folder or file under $SALIENT_SHARED
    [ -e "$SALIENT_SHARED/$1" ] && return 0
    skip "fixture set $1 missing (SALIENT_SHARED=$SALIENT_SHARED: the golden fixtures are not part of a clone; see README, Tests)"
    return 1
}
need_command() { # PROG PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    skip "$1 not installed (optional; apt-get install $2)"
    return 1
}
full() { case ${SALIENT_FULL:-0} in 0|'') return 1 ;; *) return 0 ;; esac; }
finish() { echo "$1: $pass passed, $fail failed, $skipped skipped"; }
# the description-first form: expect "what" command args...
expect() { d=$1; shift; if "$@"; then ok; else bad "$d"; fi; }
