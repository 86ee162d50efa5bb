# shellcheck shell=bash
# tests/lib/election.sh: observing router states in election tests.
#
#   NODES="hv1 hv2 hv3"            nodes whose routerstate matters
#   OBS_NODES                      nodes the observer samples (default $NODES)
#   obs_start NAME                 start tests/integration/t10-observer.py (samples every
#                                  routerstate every 5 ms) writing $PVCT_WORK/obs-NAME.log
#   obs_stop NAME                  stop it; PASS/FAIL "NAME: never two primaries"
#   rs NODE                        NODE's routerstate ("" if unreadable)
#   primaries                      the nodes whose routerstate is primary, space-separated
#   one_primary                    exactly one of them
#   is_rs NODE STATE
# Needs ZK_HOSTS (the observer's connect string) and common.sh.

: "${PVCT_WORK:?source tests/lib/common.sh first}"

OBS=$PVCT_ROOT/tests/integration/t10-observer.py
OBS_PID=

obs_start() {
	# shellcheck disable=SC2086 # node list
	"$PVCT_PY" "$OBS" "$ZK_HOSTS" ${OBS_NODES:-$NODES} --out "$PVCT_WORK/obs-$1.log" &
	OBS_PID=$!
	wait_for 10 grep -qs start "$PVCT_WORK/obs-$1.log"
}

obs_stop() {
	local rc=0
	kill -TERM "$OBS_PID" 2>/dev/null || true
	wait "$OBS_PID" || rc=$?
	OBS_PID=
	if ((rc == 0)) && grep -q '^OVERLAPS 0$' "$PVCT_WORK/obs-$1.log"; then
		pass "$1: never two primaries"
	else
		fail "$1: never two primaries" "$(grep -m3 -E 'OVERLAP|error' "$PVCT_WORK/obs-$1.log" | tr '\n' ' ')"
	fi
}
on_exit '[[ -n $OBS_PID ]] && kill -TERM $OBS_PID'

rs() { zkcli get "/nodes/$1/routerstate" 2>/dev/null || true; }

primaries() {
	local n out=""
	for n in $NODES; do [[ $(rs "$n") == primary ]] && out+="$n "; done
	printf '%s\n' "${out% }"
}

one_primary() { local p; p=$(primaries); [[ -n $p && $p != *" "* ]]; }
is_rs() { [[ $(rs "$1") == "$2" ]]; }
