# shellcheck shell=bash
# tests/lib/zk.sh: throw-away ZooKeeper 3.8 servers for tests (Debian's
# `zookeeper` package, run directly with java; no systemd needed).
#
#   . tests/lib/zk.sh                 (sources common.sh if needed)
#
#   ZK_ADDR=127.0.0.1                 address servers listen on (client, quorum
#                                     and election ports). Set it to the host
#                                     side of the test bridge (10.200.0.250,
#                                     see netns.sh) before starting servers
#                                     when daemons run in network namespaces.
#   ZK_EXTRA_CFG=                     more zoo.cfg lines (newline-separated) for
#                                     servers started from now on, e.g.
#                                     maxSessionTimeout=60000
#
#   zk_start_standalone [PREFIX]      start one standalone server (default
#                                     PREFIX=ZK); waits until it serves, then
#                                     sets PREFIX_HOSTS (addr:port), PREFIX_PORT,
#                                     PREFIX_ADDR, PREFIX_PID, PREFIX_DIR.
#                                     Several may run side by side with
#                                     different prefixes.
#   zk_start_ensemble                 start a 3-server ensemble, wait until every
#                                     server serves (~3 s); sets ZK_ENS_HOSTS.
#   zk_connect_string [PREFIX]        prints PREFIX's connect string; without
#                                     PREFIX the ensemble's if one was started,
#                                     else the last standalone server's.
#   zk_server_hostport N              addr:port of ensemble member N (1..3)
#   zk_mode N                         prints leader/follower/... (empty if not serving)
#   zk_leader_index                   prints N of the current leader; status 1 if none
#   zk_stop_server N                  SIGTERM member N, wait until gone (~2 s;
#                                     SIGKILL after 5 s)
#   zk_kill_server N                  SIGKILL member N, wait until gone
#   zk_start_server N [nowait]        restart member N with its old config and
#                                     data; waits until it serves (ruok+Mode)
#                                     unless "nowait"
#   zk_wait_server N [TIMEOUT_S]      wait until member N serves
#   zk_stop_all                       SIGKILL every server this test started
#                                     (registered with on_exit at first start;
#                                     idempotent)
#
# Files: $PVCT_WORK/zk/<name>/{zoo.cfg,data/,log4j.properties,zookeeper.log,
# stdout.log,pid}; <name> is the prefix for standalone servers, ens1..ens3 for
# the ensemble. Readiness = `ruok` answers imok AND `srvr` shows a Mode: line.

if [[ -n ${PVCT_ZK_LOADED:-} ]]; then
	return 0
fi
PVCT_ZK_LOADED=1
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ZK_ADDR=${ZK_ADDR:-127.0.0.1}
ZK_START_TIMEOUT=${ZK_START_TIMEOUT:-30}
ZK_ENS_HOSTS=
ZK_LAST_STANDALONE=
ZK_ENS_N=3
ZK_ENS_ADDR=
ZK_ENS_CLIENT_PORTS=()
PVCT_ZK_CLEANUP_REGISTERED=
PVCT_ZK_JAVA=(java -Xms32m -Xmx256m -XX:+UseSerialGC
	-Djava.net.preferIPv4Stack=true -Dzookeeper.extendedTypesEnabled=true
	-Dzookeeper.admin.enableServer=false -Dzookeeper.jmx.log4j.disable=true)
PVCT_ZK_CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar

# zk_free_ports ADDR N: N distinct TCP ports that are free on ADDR, chosen at
# random below the kernel's ephemeral range (so outgoing connections do not
# take them between this check and the server's bind).
zk_free_ports() {
	"$PVCT_PY" - "$1" "$2" <<'EOF'
import random, socket, sys
addr, n = sys.argv[1], int(sys.argv[2])
held, ports = [], []
while len(ports) < n:
    p = random.randint(20000, 32000)
    if p in ports:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, p))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(p)
print(" ".join(map(str, ports)))
EOF
}

# zk_probe ADDR PORT WORD: send a four-letter word, print the answer.
zk_probe() {
	printf '%s' "$3" | nc -N -w2 "$1" "$2" 2>/dev/null
}

# zk_serving ADDR PORT: ruok -> imok and srvr shows a Mode: line.
zk_serving() {
	local out
	[[ $(zk_probe "$1" "$2" ruok) == imok ]] || return 1
	out=$(zk_probe "$1" "$2" srvr) || return 1
	[[ $'\n'$out == *$'\nMode: '* ]]
}

zk_pid_alive() {
	local dir=$1 pid cmd
	[[ -s $dir/pid ]] || return 1
	read -r pid <"$dir/pid"
	# The PID must still be our java (not a reused PID, not a zombie).
	cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ $cmd == *"$dir/zoo.cfg"* ]]
}

# zk_write_cfg DIR ADDR CLIENTPORT [server.N=... lines]
zk_write_cfg() {
	local dir=$1 addr=$2 port=$3
	shift 3
	mkdir -p "$dir/data"
	{
		echo "tickTime=500"
		echo "initLimit=20"
		echo "syncLimit=10"
		echo "dataDir=$dir/data"
		echo "clientPort=$port"
		echo "clientPortAddress=$addr"
		echo "maxClientCnxns=0"
		echo "admin.enableServer=false"
		echo "4lw.commands.whitelist=*"
		echo "autopurge.purgeInterval=0"
		# No fsync per transaction: data still reaches the page cache, so
		# it survives SIGKILL of the server (only not a host crash).
		echo "forceSync=no"
		local line
		for line in "$@"; do
			echo "$line"
		done
		# ZK_EXTRA_CFG: more zoo.cfg lines (newline-separated), e.g.
		# maxSessionTimeout=60000 for a test that needs sessions longer than
		# 20 ticks (10 s at tickTime 500)
		[[ -z ${ZK_EXTRA_CFG:-} ]] || printf '%s\n' "$ZK_EXTRA_CFG"
	} >"$dir/zoo.cfg"
	cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$dir/zookeeper.log
log4j.appender.FILE.Append=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
}

zk_launch() {
	local dir=$1
	if [[ -z $PVCT_ZK_CLEANUP_REGISTERED ]]; then
		on_exit zk_stop_all
		PVCT_ZK_CLEANUP_REGISTERED=1
	fi
	echo "$dir" >>"$PVCT_WORK/zk/servers"
	"${PVCT_ZK_JAVA[@]}" "-Dlog4j.configuration=file:$dir/log4j.properties" \
		-cp "$PVCT_ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
		"$dir/zoo.cfg" </dev/null >>"$dir/stdout.log" 2>&1 &
	echo $! >"$dir/pid"
	disown $!
}

# zk_wait_dir DIR ADDR PORT TIMEOUT: wait until serving; fail early if it died.
zk_wait_dir() {
	local dir=$1 addr=$2 port=$3 timeout=$4
	local t=${EPOCHREALTIME/./}
	local deadline=$((t + timeout * 1000000))
	while true; do
		if zk_serving "$addr" "$port"; then
			return 0
		fi
		if ! zk_pid_alive "$dir"; then
			echo "zk: server in $dir exited; see $dir/zookeeper.log" >&2
			return 1
		fi
		t=${EPOCHREALTIME/./}
		if ((t >= deadline)); then
			echo "zk: server in $dir not serving after ${timeout}s" >&2
			return 1
		fi
		sleep 0.05
	done
}

zk_kill_dir() {
	local dir=$1 sig=${2:-KILL} pid i
	zk_pid_alive "$dir" || return 0
	read -r pid <"$dir/pid"
	kill -s "$sig" "$pid" 2>/dev/null || true
	# Up to 5 s for the signal to work, then SIGKILL (and 5 s more).
	for ((i = 0; i < 200; i++)); do
		zk_pid_alive "$dir" || break
		if ((i == 100)); then
			kill -s KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.05
	done
}

zk_start_standalone() {
	local prefix=${1:-ZK} attempt dir port
	local addr=$ZK_ADDR
	mkdir -p "$PVCT_WORK/zk"
	for attempt in 1 2 3; do
		dir=$PVCT_WORK/zk/$prefix
		rm -rf "$dir"
		port=$(zk_free_ports "$addr" 1)
		zk_write_cfg "$dir" "$addr" "$port"
		zk_launch "$dir"
		if zk_wait_dir "$dir" "$addr" "$port" "$ZK_START_TIMEOUT"; then
			printf -v "${prefix}_HOSTS" '%s:%s' "$addr" "$port"
			printf -v "${prefix}_PORT" '%s' "$port"
			printf -v "${prefix}_ADDR" '%s' "$addr"
			printf -v "${prefix}_PID" '%s' "$(<"$dir/pid")"
			printf -v "${prefix}_DIR" '%s' "$dir"
			ZK_LAST_STANDALONE=$prefix
			return 0
		fi
		zk_kill_dir "$dir"
		mv "$dir" "$dir.failed$attempt"
		echo "zk: standalone start attempt $attempt failed" >&2
	done
	return 1
}

zk_ens_dir() {
	printf '%s/zk/ens%s\n' "$PVCT_WORK" "$1"
}

zk_start_ensemble() {
	local attempt i ok ports servers
	local addr=$ZK_ADDR n=$ZK_ENS_N
	mkdir -p "$PVCT_WORK/zk"
	for attempt in 1 2 3; do
		read -r -a ports <<<"$(zk_free_ports "$addr" $((3 * n)))"
		servers=()
		ZK_ENS_CLIENT_PORTS=()
		for ((i = 1; i <= n; i++)); do
			servers+=("server.$i=$addr:${ports[n + 2 * (i - 1)]}:${ports[n + 2 * (i - 1) + 1]}")
			ZK_ENS_CLIENT_PORTS[i]=${ports[i - 1]}
		done
		for ((i = 1; i <= n; i++)); do
			local dir
			dir=$(zk_ens_dir "$i")
			rm -rf "$dir"
			zk_write_cfg "$dir" "$addr" "${ZK_ENS_CLIENT_PORTS[i]}" "${servers[@]}"
			echo "$i" >"$dir/data/myid"
		done
		for ((i = 1; i <= n; i++)); do
			zk_launch "$(zk_ens_dir "$i")"
		done
		ZK_ENS_ADDR=$addr
		ok=1
		for ((i = 1; i <= n; i++)); do
			if ! zk_wait_dir "$(zk_ens_dir "$i")" "$addr" "${ZK_ENS_CLIENT_PORTS[i]}" "$ZK_START_TIMEOUT"; then
				ok=0
				break
			fi
		done
		if ((ok)); then
			ZK_ENS_HOSTS=
			for ((i = 1; i <= n; i++)); do
				ZK_ENS_HOSTS+=${ZK_ENS_HOSTS:+,}$addr:${ZK_ENS_CLIENT_PORTS[i]}
			done
			return 0
		fi
		for ((i = 1; i <= n; i++)); do
			local d
			d=$(zk_ens_dir "$i")
			zk_kill_dir "$d"
			mv "$d" "$d.failed$attempt"
		done
		echo "zk: ensemble start attempt $attempt failed" >&2
	done
	return 1
}

zk_connect_string() {
	local prefix=${1:-}
	if [[ -n $prefix ]]; then
		local v=${prefix}_HOSTS
		printf '%s\n' "${!v}"
	elif [[ -n $ZK_ENS_HOSTS ]]; then
		printf '%s\n' "$ZK_ENS_HOSTS"
	elif [[ -n $ZK_LAST_STANDALONE ]]; then
		local v=${ZK_LAST_STANDALONE}_HOSTS
		printf '%s\n' "${!v}"
	else
		echo "zk: no server started" >&2
		return 1
	fi
}

zk_server_hostport() {
	printf '%s:%s\n' "$ZK_ENS_ADDR" "${ZK_ENS_CLIENT_PORTS[$1]}"
}

zk_mode() {
	local out line
	out=$(zk_probe "$ZK_ENS_ADDR" "${ZK_ENS_CLIENT_PORTS[$1]}" srvr) || true
	while IFS= read -r line; do
		if [[ $line == "Mode: "* ]]; then
			printf '%s\n' "${line#Mode: }"
		fi
	done <<<"$out"
}

zk_leader_index() {
	local i
	for ((i = 1; i <= ZK_ENS_N; i++)); do
		if [[ -n ${ZK_ENS_CLIENT_PORTS[i]:-} && $(zk_mode "$i") == leader ]]; then
			printf '%s\n' "$i"
			return 0
		fi
	done
	return 1
}

zk_stop_server() {
	zk_kill_dir "$(zk_ens_dir "$1")" TERM
}

zk_kill_server() {
	zk_kill_dir "$(zk_ens_dir "$1")" KILL
}

zk_wait_server() {
	zk_wait_dir "$(zk_ens_dir "$1")" "$ZK_ENS_ADDR" "${ZK_ENS_CLIENT_PORTS[$1]}" "${2:-$ZK_START_TIMEOUT}"
}

zk_start_server() {
	local dir
	dir=$(zk_ens_dir "$1")
	if zk_pid_alive "$dir"; then
		echo "zk: server $1 is already running" >&2
		return 1
	fi
	zk_launch "$dir"
	if [[ ${2:-} != nowait ]]; then
		zk_wait_server "$1"
	fi
}

zk_stop_all() {
	local dir pid
	[[ -s $PVCT_WORK/zk/servers ]] || return 0
	# SIGKILL all at once (data dirs are throw-away), then reap.
	while read -r dir; do
		if zk_pid_alive "$dir"; then
			read -r pid <"$dir/pid"
			kill -s KILL "$pid" 2>/dev/null || true
		fi
	done < <(sort -u "$PVCT_WORK/zk/servers")
	while read -r dir; do
		zk_kill_dir "$dir" KILL
	done < <(sort -u "$PVCT_WORK/zk/servers")
}
