#!/bin/bash
# f50-hostile-zk: garbage in every ZooKeeper key the daemon reads.
#
# Cluster: tests/faults/lib.sh (3-server ensemble, coordinators hv1..hv3 in
# namespaces with networking, each with a private libvirtd; 6 VMs running) plus a
# stopped VM vm7, a node hv4 that exists only in ZooKeeper (daemonstate stop) and a
# managed client network 100. Fencing is live here (fence_intervals 6) but harmless
# (successful_fence/failed_fence None), so a false "dead node" shows in the logs.
#
# For each value class (empty, ~1 MB, binary with NUL and high bytes, wrong type,
# unknown state, invalid UUID, negative, overflowing, very long name, path-like,
# embedded newline) the table below is applied: every key gets the value unless the
# class is valid for it (the "valid" column). Then, 2.5 s later, the keys are restored
# to their values before the round, and:
#   - no crash: the same supervisor and worker PIDs on every node
#   - no wrong action: no takeover/relinquish (observer), no VM stopped, started or
#     moved (libvirt domain IDs), no flush move, no fence, domainstates ready
#   - no write of garbage back: no key outside the table holds the class's marker
#   - recovery: the health invariants (tests/faults/fcheck.py) after the restore
#   - client network 100 (once the binary reads /networks): its bad definition is
#     logged and it keeps its last valid one
# Then keys marked "log" (read on every change) get garbage ONE AT A TIME, two
# classes per key rotating over all classes: within 2 s some log line must name the
# key (its full path, or the parent's name and the key's name). One at a time because
# a validator that meets several bad keys at once rightly reports the first only.
# /primary_node is handled apart: garbage there is a (bad) order to switch, so the
# expected outcome is that the cluster heals itself back to exactly one primary.
#
# Adding a key = one line in KEYS: "path  classes-valid-for-it(,)|-  log|-".
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$PVCT_ROOT/tests/faults/lib.sh"

FL_FENCE=6
fl_setup
U1=$(fl_uuid 1) U2=$(fl_uuid 2) U7=$(fl_uuid 7)
printf "<domain type='test'><name>vm7</name><uuid>%s</uuid><memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n" \
	"$U7" >"$PVCT_WORK/vm7.xml"
zkcli define-vm "$U7" vm7 hv2 "$PVCT_WORK/vm7.xml" --state stop
zkcli multi-set /nodes/hv4=hypervisor /nodes/hv4/daemonmode=hypervisor /nodes/hv4/daemonstate=stop \
	/nodes/hv4/routerstate=client /nodes/hv4/domainstate=flushed /nodes/hv4/memfree=1024 \
	/nodes/hv4/memused=0 /nodes/hv4/memalloc=0 /nodes/hv4/vcpualloc=0 /nodes/hv4/cpuload=0.0 \
	/nodes/hv4/domainscount=0 /nodes/hv4/runningdomains= /nodes/hv4/keepalive=0 \
	/nodes/hv4/memtotal=2048 /nodes/hv4/staticdata="2 6.1.0 GNU/Linux x86_64" \
	/nodes/hv4/networkscount=0 /nodes/hv4/ipmihostname=hv4-lom.test /nodes/hv4/ipmiusername=admin \
	/nodes/hv4/ipmipassword=x
N=/networks/100
zkcli multi-set "$N=hostile" "$N/nettype=managed" "$N/domain=hostile.test" "$N/name_servers=" \
	"$N/ip4_network=10.150.0.0/24" "$N/ip4_gateway=10.150.0.1" "$N/dhcp4_flag=False" \
	"$N/dhcp4_start=None" "$N/dhcp4_end=None" "$N/ip6_network=None" "$N/ip6_gateway=None" \
	"$N/dhcp6_flag=False" "$N/dhcp4_leases=" "$N/dhcp4_reservations=" "$N/firewall_rules=" \
	"$N/firewall_rules/in=" "$N/firewall_rules/out="
fl_healthy setup-extra 30 quiet || fail "setup: healthy with vm7, hv4, network 100" "see above"

# path                      valid classes (not applied)   log: read on every change
KEYS=(
	"/upstream_ip               -                           -"
	"/maintenance               -                           log"
)
for n in hv1 hv2 hv3 hv4; do
	w=log
	[[ $n == hv4 ]] && w=- # a stopped node's keys are read on demand only
	KEYS+=(
		"/nodes/$n                  -                       -"
		"/nodes/$n/daemonmode       -                       -"
		"/nodes/$n/daemonstate      -                       $w"
		"/nodes/$n/routerstate      -                       $w"
		"/nodes/$n/domainstate      -                       $w"
		"/nodes/$n/keepalive        -                       -"
		"/nodes/$n/staticdata       -                       -"
		"/nodes/$n/memtotal         -                       -"
		"/nodes/$n/memused          -                       -"
		"/nodes/$n/memfree          -                       -"
		"/nodes/$n/memalloc         -                       -"
		"/nodes/$n/vcpualloc        -                       -"
		"/nodes/$n/cpuload          -                       -"
		"/nodes/$n/domainscount     -                       -"
		"/nodes/$n/runningdomains   empty                   -"
		"/nodes/$n/networkscount    -                       -"
		"/nodes/$n/ipmihostname     -                       -"
		"/nodes/$n/ipmiusername     -                       -"
		"/nodes/$n/ipmipassword     empty,unknown,uuid,negative,overflow,longname,pathlike,wrongtype -"
	)
done
for u in "$U1" "$U2" "$U7"; do
	KEYS+=(
		"/domains/$u                 -                      -"
		"/domains/$u/state           -                      log"
		"/domains/$u/node            unknown,uuid,overflow  -"
		"/domains/$u/lastnode        empty,unknown,uuid,overflow -"
		"/domains/$u/node_limit      empty,unknown,uuid,overflow -"
		"/domains/$u/node_selector   -                      -"
		"/domains/$u/node_autostart  -                      -"
		"/domains/$u/xml             -                      -"
		"/domains/$u/rbdlist         empty                  -"
	)
done
# Client networks (read by zk-election once issue #9 is in the binary). A network is
# validated as a whole and the first bad key is reported, so with every key bad at
# once the check is per network (below), not per key.
NETS_READ=
if grep -q "networks: ignoring child" "${PVCT_DAEMON:-$PVCT_BUILD/pvcnoded}"; then NETS_READ=1; fi
for k in "" nettype domain name_servers ip4_network ip4_gateway dhcp4_flag dhcp4_start dhcp4_end \
	ip6_network ip6_gateway dhcp6_flag; do
	v=-
	[[ $k == name_servers || $k == domain || $k == "" ]] && v=empty
	KEYS+=("$N${k:+/$k}  $v  -")
done

CLASSES="empty huge binary wrongtype unknown uuid negative overflow longname pathlike newline"

cat >"$PVCT_WORK/hostile.py" <<'EOF'
"""hostile.py HOSTS CLASS SECONDS OUT < "path<TAB>class" lines
Snapshot every listed key, write the garbage, wait SECONDS, scan the whole tree
for the class marker outside the listed keys (-> OUT "LEAK path"), restore the
snapshot (deleting keys that did not exist), print "written N". Keys are written
one by one (a ~1 MB value does not fit in a multi-op with others)."""
import logging, sys, time
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
logging.basicConfig(level=logging.CRITICAL)
M = b"GARBAGE"
VALUES = {
    "empty": b"",
    "huge": M + b"x" * 1000000,
    "binary": b"\x00" + M + b"\xff\xfe\x80\x00\x01\xc3\x28",
    "wrongtype": b'["' + M + b'", 1, {"a": null}]',
    "unknown": M + b"state",
    "uuid": b"12345678-" + M + b"-0000-zzzz-zzzzzzzzzzzz",
    "negative": b"-1",
    "overflow": b"99999999999999999999999999999",
    "longname": b"h" + M + b"x" * 300,
    "pathlike": b"../../" + M + b"/../../etc/passwd",
    "newline": b"run\n" + M,
}
hosts, cls, secs, outp = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
keys = [l.split("\t")[0] for l in sys.stdin.read().splitlines() if l.strip()]
zk = KazooClient(hosts=hosts, timeout=10.0)
zk.start(timeout=15.0)
snap = {}
for k in keys:
    try:
        snap[k] = zk.get(k)[0]
    except NoNodeError:
        snap[k] = None
val = VALUES[cls]
for k in keys:
    zk.retry(zk.set, k, val) if snap[k] is not None else zk.retry(zk.create, k, val, makepath=True)
time.sleep(secs)
leaks = []
if M in val:
    listed = set(keys)
    stack = ["/"]
    while stack:
        p = stack.pop()
        try:
            data, _ = zk.get(p)
            kids = zk.get_children(p)
        except NoNodeError:
            continue
        if p not in listed and data and M in data:
            leaks.append(p)
        stack.extend((p.rstrip("/") + "/" + c) for c in kids if p != "/" or c != "zookeeper")
for k in keys:
    if snap[k] is None:
        try:
            zk.delete(k)
        except NoNodeError:
            pass
    else:
        zk.retry(zk.set, k, snap[k])
with open(outp, "w") as f:
    for p in leaks:
        f.write("LEAK %s\n" % p)
print("written %d" % len(keys))
zk.stop()
EOF

domids() { local n; for n in $FL_NODES; do fl_vs "$n" list | awk -v n="$n" 'NR > 2 && NF { print n ":" $2 ":" $1 }'; done | sort | tr '\n' ' '; }
allpids() { local n; for n in $FL_NODES; do printf '%s:%s %s\n' "$n" "$(node_pid "$n")" "$(fl_worker_pids "$n")"; done; }
logs_since() { local n; for n in $FL_NODES; do tail -n +"${mark[$n]}" "$(node_log "$n")"; done; }
declare -A mark

obs_start hostile
pids0=$(allpids)
ids0=$(domids)
for cls in $CLASSES; do
	sel=()
	for row in "${KEYS[@]}"; do
		read -r path valid lg <<<"$row"
		[[ ,$valid, == *",$cls,"* ]] && continue
		# 1 MB values only where read at once (and the network, validated as a whole)
		[[ $cls == huge && $lg != log && $path != "$N"* ]] && continue
		sel+=("$path"$'\t'"$lg")
	done
	for n in $FL_NODES; do mark[$n]=$(($(wc -l <"$(node_log "$n")") + 1)); done
	out=$(printf '%s\n' "${sel[@]}" | "$PVCT_PY" "$PVCT_WORK/hostile.py" "$ZK_HOSTS" "$cls" 2.5 \
		"$PVCT_WORK/leaks-$cls") || { fail "$cls: garbage written" "hostile.py failed: $out"; continue; }
	text=$(logs_since)
	check_eq "$cls: no crash (same supervisor and worker PIDs, ${#sel[@]} keys)" "$pids0" "$(allpids)"
	check_eq "$cls: no VM stopped, started or moved (libvirt domain IDs)" "$ids0" "$(domids)"
	bad=$(grep -aE "flush: migrating|fenc(e|ing) (of )?hv|writes? dead|daemonstate=dead|relinquishing primary|taking over as primary" <<<"$text" |
		head -3 | cut -c1-160 || true)
	check_eq "$cls: no wrong action (no relinquish/takeover, flush move or fence in the logs)" "" "$bad"
	check_eq "$cls: no garbage written back" "" "$(tr '\n' ' ' <"$PVCT_WORK/leaks-$cls")"
	if [[ -n $NETS_READ ]]; then
		if grep -aE "network 100[: ].*(invalid|skipped)" <<<"$text" >/dev/null; then
			pass "$cls: network 100's bad definition logged"; else
			fail "$cls: network 100's bad definition logged" "no 'network 100 ... invalid/skipped' line"; fi
		bad=$(grep -aE "network 100: removed|network 100 skipped" <<<"$text" | head -2 | cut -c1-160 || true)
		check_eq "$cls: network 100 kept at its last valid definition" "" "$bad"
	fi
	fl_healthy "$cls" 30 quiet && pass "$cls: recovered after the restore (health invariants)" ||
		fail "$cls: recovered after the restore (health invariants)" "see above"
done
# ---- one key at a time: is the bad value logged with the key's name? -------------------
cat >"$PVCT_WORK/perkey.py" <<'EOF2'
"""perkey.py HOSTS HOSTILE_PY LOG... < "path<TAB>class" lines: for each line write the
class's garbage to path alone, wait up to 2 s for a new line in any LOG naming the key
(full path, or parent and key name), restore the old value; print OK/MISSING lines."""
import importlib.util, logging, sys, time
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
logging.basicConfig(level=logging.CRITICAL)
hosts, logs = sys.argv[1], sys.argv[3:]
src = open(sys.argv[2]).read()
VALUES = eval(src[src.index("VALUES = {") + 9:src.index("}\nhosts") + 1], {"M": b"GARBAGE"})
zk = KazooClient(hosts=hosts, timeout=10.0)
zk.start(timeout=15.0)
def sizes():
    out = []
    for f in logs:
        with open(f, "rb") as fh:
            fh.seek(0, 2)
            out.append(fh.tell())
    return out
def named(path, text):
    base = path.rsplit("/", 1)[1].encode()
    parent = path.rsplit("/", 2)[1].encode() if path.count("/") > 1 else b""
    for line in text.splitlines():
        if path.encode() in line or (parent and parent in line and base in line):
            return True
    return False
for row in sys.stdin.read().splitlines():
    path, cls = row.split("\t")
    old = zk.get(path)[0]
    before = sizes()
    zk.set(path, VALUES[cls])
    deadline, ok = time.monotonic() + 2.0, False
    while not ok and time.monotonic() < deadline:
        time.sleep(0.1)
        text = b""
        for f, off in zip(logs, before):
            with open(f, "rb") as fh:
                fh.seek(off)
                text += fh.read()
        ok = named(path, text)
    zk.set(path, old)
    print("%s %s %s" % ("OK" if ok else "MISSING", path, cls), flush=True)
    time.sleep(0.3)
zk.stop()
EOF2
read -r -a cl <<<"$CLASSES"
rows=()
i=0
for row in "${KEYS[@]}"; do
	read -r path valid lg <<<"$row"
	[[ $lg == log ]] || continue
	for j in 0 5; do
		c=${cl[(i + j) % ${#cl[@]}]}
		while [[ ,$valid, == *",$c,"* ]]; do j=$((j + 1)); c=${cl[(i + j) % ${#cl[@]}]}; done
		rows+=("$path"$'\t'"$c")
	done
	i=$((i + 1))
done
mapfile -t res < <(printf '%s\n' "${rows[@]}" | "$PVCT_PY" "$PVCT_WORK/perkey.py" "$ZK_HOSTS" \
	"$PVCT_WORK/hostile.py" "$(node_log hv1)" "$(node_log hv2)" "$(node_log hv3)")
missing=$(printf '%s\n' "${res[@]}" | awk '$1 == "MISSING" { printf "%s(%s) ", $2, $3 }')
ok=$(printf '%s\n' "${res[@]}" | grep -c '^OK ' || true)
if [[ -z $missing && $ok -eq ${#rows[@]} ]]; then
	pass "one key at a time: all ${#rows[@]} bad values logged naming the key"
else
	fail "one key at a time: bad values logged naming the key" "$ok/${#rows[@]} named; not named: $missing"
fi
check_eq "one key at a time: no crash (same supervisor and worker PIDs)" "$pids0" "$(allpids)"
check_eq "one key at a time: no VM stopped, started or moved" "$ids0" "$(domids)"

transitions=$(grep -acE " rs hv[0-9] (takeover|relinquish)$" "$PVCT_WORK/obs-hostile.log" || true)
check_eq "no takeover or relinquish during all rounds (observer)" 0 "$transitions"
for n in $FL_NODES; do
	check_eq "$n domainstate ready at the end" ready "$(zkcli get "/nodes/$n/domainstate")"
done
obs_stop hostile

# ---- /primary_node: garbage there must heal back to one primary --------------------------
obs_start primary-node
for cls in $CLASSES; do
	[[ $cls == huge ]] && continue # covered below with the same parser
	healed() { local p; p=$(fl_primary); [[ -n $p && $(zkcli get /primary_node) == "$p" ]]; }
	"$PVCT_PY" - "$ZK_HOSTS" "$cls" <<'EOF'
import logging, sys
from kazoo.client import KazooClient
logging.basicConfig(level=logging.CRITICAL)
v = {"empty": b"", "binary": b"\x00GARBAGE\xff", "wrongtype": b'["GARBAGE"]', "unknown": b"GARBAGEstate",
     "uuid": b"12345678-GARBAGE-zzzz", "negative": b"-1", "overflow": b"9" * 29,
     "longname": b"h" + b"x" * 300, "pathlike": b"../../GARBAGE", "newline": b"hv1\nGARBAGE"}[sys.argv[2]]
zk = KazooClient(hosts=sys.argv[1]); zk.start(timeout=15.0); zk.set("/primary_node", v); zk.stop()
EOF
	if wait_for 20 healed; then pass "/primary_node=$cls: healed to one primary ($(fl_primary))"; else
		fail "/primary_node=$cls: healed to one primary" "primary_node '$(zkcli get /primary_node | head -c 60)', primaries '$(primaries)'"; fi
done
check_eq "/primary_node rounds: no crash (same supervisor and worker PIDs)" "$pids0" "$(allpids)"
check_eq "/primary_node rounds: no VM stopped, started or moved" "$ids0" "$(domids)"
obs_stop primary-node
fl_healthy "after all rounds" 40 || true

fl_teardown
finish
