# shellcheck shell=bash
# tests/lib/ceph.sh: a throw-away single-host Ceph 16 (1 mon, 1 mgr, 2 bluestore OSDs
# on plain files) for one test, without systemd (environment.md, "Single-host Ceph 16").
#
#   ceph_start            create and start it under $PVCT_WORK/ceph on a free port
#                         (mon v2 only, 127.0.0.1), wait for 2 OSDs up; sets CEPH_DIR,
#                         CEPH_CONF, CEPH_KEYRING (client.admin). Stopped at exit.
#   ceph_cli ARGS...      the ceph CLI against it (ceph --conf $CEPH_CONF ...)
#   ceph_rbd ARGS...      rbd against it
#   ceph_pool_image POOL IMG  a pool (size 2, min_size 1, rbd) and a 64 MiB image
#   ceph_stop             SIGTERM every daemon (teardown ~6 s), wait
#   ceph_restart          start the daemons again over the same data
#
# The OSDs keep their block files under the OSD dir but not at $osd_data/block
# (bluestore_block_create). Memory kept small (osd_memory_target, cache 128M).

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CEPH_DIR=
CEPH_CONF=
CEPH_KEYRING=

ceph_cli() { ceph --conf "$CEPH_CONF" --connect-timeout 10 "$@"; }
ceph_rbd() { rbd --conf "$CEPH_CONF" "$@"; }

ceph_free_port() {
	"$PVCT_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ceph_write_conf() {
	local port=$1 fsid=$2
	cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$port
mon_initial_members = a
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = $CEPH_DIR/run
log_file = $CEPH_DIR/log/\$name.log
admin_socket = $CEPH_DIR/run/\$name.asok
pid_file = $CEPH_DIR/run/\$name.pid
ms_bind_msgr1 = false
ms_bind_ipv4 = true
public_network = 127.0.0.0/8
osd_crush_chooseleaf_type = 0
osd_pool_default_size = 2
osd_pool_default_min_size = 1
mon_data_avail_warn = 5
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
auth_allow_insecure_global_id_reclaim = false
[client]
keyring = $CEPH_DIR/admin.keyring
[mon]
mon_data = $CEPH_DIR/mon.\$id
[mgr]
mgr_data = $CEPH_DIR/mgr.\$id
mgr_disabled_modules = dashboard
[osd]
osd_data = $CEPH_DIR/osd.\$id
osd_objectstore = bluestore
bluestore_block_path = $CEPH_DIR/osd.\$id.block
bluestore_block_create = true
bluestore_block_size = 1073741824
bluestore_cache_autotune = false
bluestore_cache_size = 134217728
osd_memory_target = 939524096
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
CONF
	chmod 0644 "$CEPH_CONF"
}

ceph_launch() {
	ceph-mon --conf "$CEPH_CONF" -i a || return 1
	ceph-mgr --conf "$CEPH_CONF" -i x || return 1
	local i
	for i in 0 1; do ceph-osd --conf "$CEPH_CONF" -i $i || return 1; done
}

ceph_wait_up() {
	wait_for 90 bash -c \
		"ceph --conf '$CEPH_CONF' --connect-timeout 5 osd stat -f json 2>/dev/null | grep -q '\"num_up_osds\":2'"
}

ceph_start() {
	local fsid port i key uuid
	CEPH_DIR=$PVCT_WORK/ceph
	CEPH_CONF=$CEPH_DIR/ceph.conf
	CEPH_KEYRING=$CEPH_DIR/admin.keyring
	mkdir -p "$CEPH_DIR/run" "$CEPH_DIR/log" "$CEPH_DIR/mon.a" "$CEPH_DIR/mgr.x"
	chmod 0711 "$PVCT_WORK" "$CEPH_DIR"
	fsid=$(uuidgen)
	port=$(ceph_free_port)
	ceph_write_conf "$port" "$fsid"
	ceph-authtool --create-keyring "$CEPH_DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null || return 1
	ceph-authtool --create-keyring "$CEPH_KEYRING" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null || return 1
	ceph-authtool "$CEPH_DIR/mon.keyring" --import-keyring "$CEPH_KEYRING" >/dev/null || return 1
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$CEPH_DIR/monmap" >/dev/null || return 1
	ceph-mon --conf "$CEPH_CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/mon.keyring" || return 1
	on_exit ceph_stop
	ceph-mon --conf "$CEPH_CONF" -i a || return 1
	ceph_cli auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
		>"$CEPH_DIR/mgr.x/keyring" || return 1
	ceph-mgr --conf "$CEPH_CONF" -i x || return 1
	for i in 0 1; do
		uuid=$(uuidgen)
		key=$(ceph-authtool --gen-print-key)
		mkdir -p "$CEPH_DIR/osd.$i"
		echo "{\"cephx_secret\": \"$key\"}" | ceph_cli osd new "$uuid" -i - >/dev/null || return 1
		ceph-authtool --create-keyring "$CEPH_DIR/osd.$i/keyring" --name "osd.$i" --add-key "$key" >/dev/null || return 1
		ceph-osd --conf "$CEPH_CONF" -i "$i" --mkfs --osd-uuid "$uuid" >"$CEPH_DIR/log/mkfs.$i" 2>&1 ||
			{ cat "$CEPH_DIR/log/mkfs.$i" >&2; return 1; }
		ceph-osd --conf "$CEPH_CONF" -i "$i" || return 1
	done
	ceph_wait_up
}

ceph_pool_image() {
	local pool=$1 img=$2
	ceph_cli osd pool create "$pool" 8 8 replicated >/dev/null 2>&1 || return 1
	ceph_cli osd pool set "$pool" size 2 >/dev/null 2>&1 || return 1
	ceph_cli osd pool set "$pool" min_size 1 >/dev/null 2>&1 || return 1
	ceph_cli osd pool application enable "$pool" rbd >/dev/null 2>&1 || return 1
	ceph_rbd create --size 64 "$pool/$img" || return 1
}

ceph_daemon_pids() {
	local f
	for f in "$CEPH_DIR"/run/*.pid; do
		[[ -f $f ]] && cat "$f"
	done
}

ceph_stop() {
	[[ -n $CEPH_DIR ]] || return 0
	local pids p
	pids=$(ceph_daemon_pids)
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for _ in $(seq 1 100); do
		local alive=0
		for p in $pids; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
		((alive)) || break
		sleep 0.1
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	rm -f "$CEPH_DIR"/run/*.pid
	return 0
}

ceph_restart() {
	ceph_launch && ceph_wait_up
}
