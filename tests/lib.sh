# tests/lib.sh — shared by the shell tests (sourced, not run):
# defaults for $BIN / $SALIENT_SHARED / $SALIENT_TMP, the pass/fail counters
# and the closing "NAME: N passed, N failed" line that tests/run.sh reads.
#   check 'shell condition' "message if it fails"
: "${BIN:=bin}"
: "${SALIENT_SHARED:=../shared}"
: "${SALIENT_TMP:=build/tmp}"
pass=0; fail=0
ok()    { pass=$((pass+1)); }
bad()   { fail=$((fail+1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
finish() { echo "$1: $pass passed, $fail failed"; }
