#!/bin/bash
# t14-zk-acl: optional ZooKeeper digest authentication (pvc.cluster.zookeeper.auth,
# issue #16). Two coordinators with the same secret (a root-only file) against a real
# ZooKeeper; kazoo clients with and without the same digest check:
#   (1) the nodes our daemon creates refuse an unauthenticated client (write, create,
#       read: no world READ, /nodes/<node>/ipmipassword is among them) -> NoAuthError,
#       and carry exactly kazoo's make_digest_acl(user, password, all=True);
#   (2) kazoo with the digest reads and writes them, the daemon writes nodes kazoo
#       created with its digest ACL, keepalives advance, a primary is elected and a
#       planned switchover through /primary_node works both ways;
#   (3) a group/other-readable or non-root secret file is refused, naming the file.
#
#   T14_NO_AUTH=1  configure no auth (shows that (1) fails without the ACLs)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/zk.sh"
. "$(dirname "$0")/../lib/node.sh"

require_root
[[ -x $PVCT_BUILD/pvcnoded ]] || skip_all "build/pvcnoded missing (make first)"
"$PVCT_PY" -c 'import kazoo' 2>/dev/null || skip_all "python3-kazoo missing"

ZK_USER=pvc
ZK_PASS='S3cret:with-colon'
SECRET=$PVCT_WORK/zookeeper.secret
(umask 077 && printf '%s:%s\n' "$ZK_USER" "$ZK_PASS" >"$SECRET")
chown root:root "$SECRET"

# kz auth|noauth OP PATH [VALUE]: one kazoo operation; prints the value (get), the
# ACL (acl), or the exception's class name, e.g. NoAuthError (exit 0 either way, 1
# on anything else).
cat >"$PVCT_WORK/kz.py" <<'EOF'
import os
import sys
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.security import make_digest_acl

who, op, path = sys.argv[1], sys.argv[2], sys.argv[3]
val = sys.argv[4] if len(sys.argv) > 4 else ""
kw = {}
if who == "auth":
    # the secret file as the daemon reads it: "user:password", first ':' splits
    user, _, pw = open(sys.argv[5]).read().rstrip("\n").partition(":")
    kw = dict(auth_data=[("digest", "%s:%s" % (user, pw))],
              default_acl=[make_digest_acl(user, pw, all=True)])
zk = KazooClient(hosts=os.environ["ZK_HOSTS"], **kw)
zk.start(timeout=10)
try:
    if op == "get":
        print(zk.get(path)[0].decode())
    elif op == "set":
        zk.set(path, val.encode())
        print("ok")
    elif op == "create":
        zk.create(path, val.encode(), makepath=True)
        print("ok")
    elif op == "delete":
        zk.delete(path, recursive=True)
        print("ok")
    elif op == "ls":
        print(" ".join(sorted(zk.get_children(path))))
    elif op == "acl":
        print(" ".join("%s:%s:%d" % (a.id.scheme, a.id.id, a.perms) for a in zk.get_acls(path)[0]))
    elif op == "digest":
        a = make_digest_acl(user, pw, all=True)
        print("%s:%s:%d" % (a.id.scheme, a.id.id, a.perms))
except KazooException as e:
    print(type(e).__name__)
finally:
    zk.stop()
EOF
export ZK_HOSTS
kz() { "$PVCT_PY" "$PVCT_WORK/kz.py" "$1" "$2" "$3" "${4:-}" "$SECRET"; }
kza() { kz auth "$@"; }
kzn() { kz noauth "$@"; }

zk_start_standalone
NODE_ZK=$ZK_HOSTS
NODE_COORDINATORS="hv1 hv2"
NODES="hv1 hv2"
auth_config() {
	local f
	f=$(node_config "$1")
	if [[ -z ${T14_NO_AUTH:-} ]]; then
		sed -i "/^      session_timeout_ms:/a\\      auth: {scheme: digest, secret_file: $SECRET}" "$f"
	fi
	printf '%s\n' "$f"
}
for n in $NODES; do auth_config "$n" >/dev/null; done

rs() { kza get "/nodes/$1/routerstate" 2>/dev/null || true; }
primaries() {
	local n out=""
	for n in $NODES; do [[ $(rs "$n") == primary ]] && out+="$n "; done
	printf '%s\n' "${out% }"
}
one_primary() { local p; p=$(primaries); [[ -n $p && $p != *" "* ]]; }
is_rs() { [[ $(rs "$1") == "$2" ]]; }

# What PVC's CLI/API would have created with the same digest: hv2's node tree, before
# hv2 ever ran. hv2's registration must write these (set, not create).
DIGEST=$(kza digest /)
if [[ -z ${T14_NO_AUTH:-} ]]; then
	for k in daemonstate routerstate daemonmode; do
		kza create "/nodes/hv2/$k" init >/dev/null
	done
	check_eq "a kazoo-created node carries kazoo's digest ACL only" "$DIGEST" \
		"$(kza acl /nodes/hv2/daemonstate)"
fi

node_start hv1
check "hv1 becomes primary" wait_for 20 is_rs hv1 primary
node_start hv2
check "hv2 registers: daemonstate run written over kazoo's node" \
	wait_for 20 bash -c "[[ \$('$PVCT_PY' '$PVCT_WORK/kz.py' auth get /nodes/hv2/daemonstate '' '$SECRET') == run ]]"
check "hv2 becomes secondary" wait_for 20 is_rs hv2 secondary

# ---- (1) nodes we create refuse an unauthenticated client -----------------------
for p in /nodes/hv1 /nodes/hv1/routerstate /nodes/hv1/keepalive /nodes/hv1/ipmipassword \
	/primary_node /upstream_ip; do
	check_eq "ACL of $p (created by hv1) is the digest only" "$DIGEST" "$(kza acl "$p")"
done
check_eq "unauthenticated set /nodes/hv1/routerstate" NoAuthError "$(kzn set /nodes/hv1/routerstate primary)"
check_eq "unauthenticated set /primary_node" NoAuthError "$(kzn set /primary_node hv2)"
check_eq "unauthenticated create under /nodes/hv1" NoAuthError "$(kzn create /nodes/hv1/intruder x)"
check_eq "unauthenticated read /nodes/hv1/ipmipassword" NoAuthError "$(kzn get /nodes/hv1/ipmipassword)"
check_eq "unauthenticated ls /nodes" NoAuthError "$(kzn ls /nodes)"
check_eq "unauthenticated delete /nodes/hv1/keepalive" NoAuthError "$(kzn delete /nodes/hv1/keepalive)"

# ---- (2) the same digest in kazoo reads and writes them; the daemon keeps working ---
check_eq "authenticated read /nodes/hv1/ipmipassword" TopSecretIpmiPassw0rd "$(kza get /nodes/hv1/ipmipassword)"
check_eq "authenticated ls /nodes" "hv1 hv2" "$(kza ls /nodes)"
check_eq "authenticated create under /nodes/hv1" ok "$(kza create /nodes/hv1/t14probe x)"
check_eq "authenticated delete of it" ok "$(kza delete /nodes/hv1/t14probe)"
k1=$(kza get /nodes/hv2/keepalive)
check "hv2 keepalive advances ($k1)" wait_for 10 bash -c \
	"(( \$('$PVCT_PY' '$PVCT_WORK/kz.py' auth get /nodes/hv2/keepalive '' '$SECRET') > $k1 ))"
for target in hv2 hv1; do
	check_eq "authenticated set /primary_node $target" ok "$(kza set /primary_node "$target")"
	check "planned switchover: $target primary" wait_for 20 is_rs "$target" primary
	other=hv1; [[ $target == hv1 ]] && other=hv2
	check "planned switchover: $other secondary" wait_for 20 is_rs "$other" secondary
	check "planned switchover: one primary ($(primaries))" one_primary
done
check "no failed-auth or ACL errors in the logs" bash -c \
	"! grep -E 'failed authentication|NoAuth|not authenticated|invalid ACL' '$(node_log hv1)' '$(node_log hv2)'"

# ---- (3) an unsafe secret file is refused, naming it ------------------------------
cfg=$(node_dir hv1)/pvcnoded.yaml
refused() {
	local out rc=0
	out=$("$PVCT_BUILD/pvcnoded" -c "$cfg" --check-config 2>&1) || rc=$?
	echo "$out" >"$PVCT_WORK/refused.out"
	[[ $rc != 0 && $out == *"$SECRET"* && $out == *"$1"* && $out != *"$ZK_PASS"* ]]
}
if [[ -z ${T14_NO_AUTH:-} ]]; then
	check "a 0600 root secret file passes --check-config" "$PVCT_BUILD/pvcnoded" -c "$cfg" --check-config
	chmod 0644 "$SECRET"
	check "world-readable secret file refused, naming it" refused "mode 0644"
	chmod 0640 "$SECRET"
	check "group-readable secret file refused, naming it" refused "mode 0640"
	chmod 0600 "$SECRET"
	chown nobody "$SECRET"
	check "non-root secret file refused, naming it" refused "owned by uid"
	chown root "$SECRET"
fi

for n in $NODES; do node_stop "$n" 20 || true; done
finish
