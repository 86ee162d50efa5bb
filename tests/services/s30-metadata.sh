#!/bin/bash
# The cloud-init metadata API (issue 17, item 3): two coordinators in their own
# namespaces, ZooKeeper and PostgreSQL (the provisioner's tables) on the host side of
# the test bridge, a "VM" namespace on a managed client network with a DHCP lease.
#  - the primary's metadata worker answers http://169.254.169.254/ with the VM's
#    instance-id, name, profile and the profile's user-data from PostgreSQL
#  - an unknown client gets 404, bad requests clear errors (405, 413, 431/414),
#    a slowloris connection is cut while others are served
#  - PostgreSQL stopped: user-data 503 with a log line, meta-data still served;
#    PostgreSQL back (now with TLS on): user-data again, over TLS
#  - PostgreSQL hanging: 503 after the 2 s deadline, then recovery
#  - kill -9 of the primary's metadata worker: restarted (socket passed again), answering
#  - planned switchover: the new primary answers, the old one listens no more
#  - primary -> secondary -> primary while a user-data fetch waits: user-data again after
#  - the worker runs as its own user without capabilities
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/lib/metadata.sh"
require_root
[[ -x $PVCT_BUILD/pvc-metadata ]] || skip_all "build/pvc-metadata missing (make all)"
[[ -x /usr/sbin/dnsmasq ]] || skip_all "dnsmasq missing"
command -v busybox >/dev/null || skip_all "busybox missing (udhcpc)"
command -v curl >/dev/null || skip_all "curl missing"

meta_cluster_setup
if [[ -n $(node_worker hv1 metadata) && -n $(node_worker hv2 metadata) ]]; then
	pass "metadata worker runs on both coordinators"
else
	fail "metadata worker runs on both coordinators" "hv1 '$(node_worker hv1 metadata)' hv2 '$(node_worker hv2 metadata)'"
fi
check "$P listens on 169.254.169.254:80" wait_for 10 listens "$P"
check "$Q (secondary) does not listen on :80" listens_not "$Q"
MPID=$(node_worker "$P" metadata)
check_eq "metadata worker runs as pvct-meta" pvct-meta "$(ps -o user= -p "$MPID" | tr -d ' ')"
check_eq "metadata worker has no capability" 0000000000000000 "$(sed -n 's/^CapEff:\s*//p' "/proc/$MPID/status")"
check_eq "metadata worker is under seccomp" 2 "$(sed -n 's/^Seccomp:\s*//p' "/proc/$MPID/status")"

# ---- answers --------------------------------------------------------------------------
get() { meta_get "$@"; }
answers() { [[ $(get /latest/meta-data/instance-id) == "200 $UUID" ]]; }
check "the VM reaches the metadata API" wait_for 10 answers
check_eq "instance-id" "200 $UUID" "$(get /latest/meta-data/instance-id)"
check_eq "name" "200 vm-one" "$(get /latest/meta-data/name)"
check_eq "profile" "200 prof1" "$(get /2009-04-04/meta-data/profile)"
check_eq "meta-data index" '200 instance-id\nname\nprofile' "$(get /latest/meta-data/)"
check_eq "user-data from PostgreSQL" '200 #cloud-config\nhostname: vm-one' "$(get /latest/user-data)"
check_eq "root" '200 {"message": "PVC Provisioner Metadata API version 1"}' "$(get /)"
# 150 more VMs (450 reads per scan, over the scan's 128 in flight): the scan still completes
items=()
for ((i = 0; i < 150; i++)); do
	u=$(printf '0a1b2c3d-0000-4000-8000-%012x' $((0x100 + i)))
	items+=("/domains/$u=other$i" "/domains/$u/profile=prof1"
		"/domains/$u/xml=<domain><devices><interface type='bridge'><mac address='52:54:00:99:00:$(printf %02x $i)'/></interface></devices></domain>")
done
zk multi-set "${items[@]}" >/dev/null
zk set "/domains/$UUID/profile" bare >/dev/null
bare() { [[ $(get /latest/meta-data/profile) == "200 bare" ]]; }
check "a profile change is seen within the scan period" wait_for 8 bare
check_eq "profile without user-data: empty user-data" "200 " "$(get /latest/user-data)"
zk set "/domains/$UUID/profile" prof1 >/dev/null
wait_for 8 bash -c "[[ \$(ip netns exec $VM curl -s -m 2 $MD/latest/meta-data/profile) == prof1 ]]" || true

# ---- bad requests -----------------------------------------------------------------------
ip -n "$VM" addr add 10.101.0.77/24 dev eth0
check_eq "unknown client (no lease): 404" "404 no VM with a DHCP lease for 10.101.0.77" "$(get /latest/user-data --interface 10.101.0.77)"
check_eq "unknown path: 404" "404 not found" "$(get /latest/meta-data/secret)"
check_eq "POST: 405" "405 only GET and HEAD" "$(get /latest/user-data -X POST)"
check_eq "a request body: 413" "413 no request body expected" "$(get /latest/user-data -X GET --data-binary xyz)"
BIG=$(head -c 20000 /dev/zero | tr '\0' a)
# on valid paths: a 404 of the router must not pass for the size limit
code=$(get /latest/meta-data/instance-id -H "X-Big: $BIG")
check_eq "oversized headers on a valid path: 431" 431 "${code%% *}"
code=$(get "/latest/meta-data/$BIG")
check_eq "oversized URL under a valid prefix: 414" 414 "${code%% *}"
# slowloris: half a request line, then silence; cut after the idle timeout, while a
# normal client is served at once
ip netns exec "$VM" python3 - "$PVCT_WORK/slow.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("169.254.169.254", 80))
s.sendall(b"GET /latest/user-data HTTP/1.1\r\nHost: x\r\n")
t = time.monotonic()
s.settimeout(30)
try:
    d = s.recv(100)
except OSError:
    d = b""
open(sys.argv[1], "w").write("%.1f %d\n" % (time.monotonic() - t, len(d)))
PY
SLOW=$!
sleep 0.5
r=$(get /latest/meta-data/instance-id)
check_eq "served during a slowloris connection" "200 $UUID" "$r"
# curl's own time (the wall time of `ip netns exec curl` is mostly process start-up)
tt=$(ip netns exec "$VM" curl -s -m 5 -o /dev/null -w '%{time_total}' "$MD/latest/meta-data/name" || echo 9)
check "... within 100 ms (${tt} s)" awk -v t="$tt" 'BEGIN {exit !(t < 0.1)}'
wait "$SLOW" || true
check "slowloris connection closed after the idle timeout (5 s): $(cat "$PVCT_WORK/slow.out" 2>/dev/null)" \
	bash -c "awk '{exit !(\$1 >= 4 && \$1 < 10)}' '$PVCT_WORK/slow.out'"

# ---- database outage ----------------------------------------------------------------------
pg_stop
sleep 1.2 # past the user-data cache's 1 s
check_eq "PostgreSQL stopped: user-data 503" "503 metadata database unavailable: try again" "$(get /latest/user-data)"
check "... logged with the database" wait_for 5 grep -q "metadata: database pvcprov@$NETNS_HOST_ADDR:$PG_PORT/pvcprov: .*failed" "$(node_log "$P")"
check_eq "PostgreSQL stopped: meta-data still served" "200 vm-one" "$(get /latest/meta-data/name)"
check "the metadata worker did not restart" bash -c "[[ '$(node_worker "$P" metadata)' == $MPID ]]"
# back with TLS on (Debian's default): the reconnect negotiates it inside the sandbox
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pvct-pg -keyout "$PG_DATA/server.key" \
	-out "$PG_DATA/server.crt" >/dev/null 2>&1
chown postgres: "$PG_DATA/server.key" "$PG_DATA/server.crt"
chmod 0600 "$PG_DATA/server.key"
echo "ssl = on" >>"$PG_DATA/postgresql.auto.conf"
pg_start
ud_ok() { [[ $(get /latest/user-data) == '200 #cloud-config\nhostname: vm-one' ]]; }
check "PostgreSQL back: user-data again (reconnect with backoff)" wait_for 10 ud_ok
check_eq "... over TLS (pg_stat_ssl)" t "$(pg_psql -d postgres -c "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'pvc-metadata'" | head -n1)"

# a database that hangs (every PostgreSQL process stopped): the 2 s deadline answers 503
pg_pids() { local m; m=$(head -n1 "$PG_DATA/postmaster.pid"); echo "$m" $(pgrep -P "$m"); }
sleep 1.2
kill -STOP $(pg_pids)
on_exit "kill -CONT $(pg_pids) 2>/dev/null || true"
t0=$(now_ms)
r=$(get /latest/user-data)
dt=$(($(now_ms) - t0))
kill -CONT $(pg_pids)
check_eq "PostgreSQL hanging: user-data 503" "503 metadata database unavailable: try again" "$r"
check "... after the 2 s deadline, not a hang ($dt ms)" test "$dt" -lt 3500
check "... logged as a timeout" grep -q "metadata: database .*query (timeout) failed" "$(node_log "$P")"
check "PostgreSQL resumed: user-data again" wait_for 10 ud_ok

# ---- kill -9 of the metadata worker on the primary: restarted, serving again ---------------
kill -KILL "$MPID"
t0=$(now_ms)
restarted() { local p; p=$(node_worker "$P" metadata); [[ -n $p && $p != "$MPID" ]] && answers; }
if wait_for 10 restarted; then pass "metadata worker killed: restarted and answering within $(($(now_ms) - t0)) ms"; else fail "metadata worker killed: restarted and answering" "$(get /latest/meta-data/instance-id)"; fi
check_eq "... user-data too" '200 #cloud-config\nhostname: vm-one' "$(get /latest/user-data)"

# ---- switchover ------------------------------------------------------------------------------
zk set /primary_node "$Q" >/dev/null
t0=$(now_ms)
from_q() { answers && grep -q "metadata: serving" "$(node_log "$Q")"; }
if wait_for 15 from_q; then pass "switchover: $Q answers ($(($(now_ms) - t0)) ms after the /primary_node write)"; else fail "switchover: $Q answers" "$(get /latest/meta-data/instance-id)"; fi
check "$Q listens on :80" listens "$Q"
check "$P listens no more" listens_not "$P"
check_eq "user-data from the new primary" '200 #cloud-config\nhostname: vm-one' "$(get /latest/user-data)"
check "$P logged the stop" grep -q "metadata: not primary: stopping the metadata API" "$(node_log "$P")"

# ---- relinquish while a user-data fetch waits (database hanging): $Q primary -> secondary ->
# primary; once the database answers again, $Q fetches user-data again (the fetch the
# relinquish cut short must not leave the database client busy for ever)
sleep 1.2 # past the user-data cache's 1 s
kill -STOP $(pg_pids)
ip netns exec "$VM" curl -s -m 5 -o /dev/null "$MD/latest/user-data" &
WAITER=$!
sleep 0.5 # the request reached $Q, its fetch now waits for the stopped database
zk set /primary_node "$P" >/dev/null
check "$Q relinquished while its fetch waited" wait_for 5 grep -q "metadata: not primary: stopping" "$(node_log "$Q")"
check "... before the fetch's 2 s deadline (no timeout logged)" bash -c "! grep -q 'query (timeout) failed' '$(node_log "$Q")'"
from_p() { listens "$P" && answers; }
check "$P serves again" wait_for 10 from_p
wait "$WAITER" || true
zk set /primary_node "$Q" >/dev/null
serves_q2() { [[ $(grep -c "metadata: serving" "$(node_log "$Q")") -ge 2 ]] && listens "$Q" && answers; }
check "$Q primary again" wait_for 10 serves_q2
kill -CONT $(pg_pids)
check "database back: $Q answers user-data again" wait_for 10 ud_ok
deaths() { grep -c 'worker metadata (pid [0-9]*) died' "$(node_log "$1")" || true; }
check_eq "metadata worker deaths on $P: only the kill -9" 1 "$(deaths "$P")"
check_eq "metadata worker deaths on $Q: none" 0 "$(deaths "$Q")"
finish
