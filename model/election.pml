/*
 * election.pml: SPIN model of the primary election (docs/election.md,
 * docs/election-model.md). Checked by tools/model/check.sh (`make check-model`).
 *
 * Discrete time: one tick = TICK_MS (constants.pml, generated from the C sources).
 * Each tick, in turn: Faults, ZooKeeper, Faults, Node 0, Faults, Node 1, ..., Clock.
 * Every step is atomic; a message sent in tick k is handled at the earliest by the
 * next process in the turn order (node -> ZooKeeper: tick k+1), so the shortest round
 * trip is one tick, and a cut link (partition, or a delay of a few ticks) holds the
 * messages of both directions in FIFO order.
 *
 * Build flags:
 *   -DN=2|3          contender nodes (default 2)
 *   -DMAXF=k         fault budget (default 2): crashes, partitions, delays
 *   -DSEEDED_D0      takeover delay D = 0
 *   -DSEEDED_NO_LEASE no lease: zk-election never steps down for lack of answers,
 *                    net-router refreshes addresses for ever
 *   -DPING_T6        lease ping every T/6 (the formula before issue 22's fix)
 */
#include "constants.pml"

#ifndef N
#define N 2
#endif
#ifndef MAXF
#define MAXF 2
#endif
#define NONE N

#ifdef PING_T6
#define PERIOD P6_TK
#else
#define PERIOD P_TK
#endif
#ifdef SEEDED_D0
#define DLY 0
#else
#define DLY D_TK
#endif

/* -DSEEDED_MARGIN=k: the lease ends k ticks later than the code's (a smaller margin) */
#ifdef SEEDED_MARGIN
#define LW (W_TK + SEEDED_MARGIN)
#else
#define LW W_TK
#endif

#define OFF 255     /* timer not armed */
#define UNK 2       /* net_want / net_have = -1 in the code */
#define VERS 8      /* /primary_node versions modulo 8 (see docs/election-model.md) */

/* routerstate as zk-election knows it */
#define SEC 0
#define TKO 1
#define PRI 2
#define REL 3

mtype = { PING, LPING, CREATE, RELEASE, DELETE, SETPN, SETNONE, READ,      /* node -> ZK */
          PONG, LPONG, CREATED, RELEASED, DELETED, SETDONE, NONEDONE,      /* ZK -> node */
          NOTIFY, VIEW,
          TAKE, RELQ, LEASE };                                              /* zk-election -> net-router */

chan up[N] = [6] of { mtype, byte };
chan dn[N] = [6] of { mtype, byte, byte, byte, byte };
chan ipc[N] = [4] of { mtype, byte };

byte turn = 0;
byte sub = 0;          /* round within the tick (messages in flight are delivered in
                        * further rounds of the same tick, up to RMAX rounds) */
byte faults = MAXF;
hidden short tick = 0; /* tick number, for the trail only (not part of the state) */
#ifndef RMAX
#define RMAX 8
#endif

/* ---- ZooKeeper (one linearisable server; the ensemble is abstracted) ---------- */
bit  s_alive[N];      /* session of the node's current zk-election */
byte s_idle[N];       /* ticks since the server last heard from it */
byte rank[N];         /* its contender under /primary_node: 0 none, else order */
bit  o_alive[N];      /* orphan session left by a kill -9 of the whole daemon */
byte o_idle[N];
byte orank[N];
bit  watch[N];        /* watch on /primary_node and its children armed */
byte pn = NONE;       /* /primary_node */
byte pver = 0;        /* its version (mod VERS) */

/* ---- network -------------------------------------------------------------------- */
byte cut[N];          /* ticks left during which node i and ZooKeeper cannot talk */

/* ---- zk-election (per node) ---------------------------------------------------- */
bit  ze_up[N];
byte ze_down[N];      /* ticks until restart (OFF: never) */
bit  fresh[N];        /* restart as a new daemon (no saved session) */
bit  conn[N];
byte c_idle[N];       /* ticks since the client last received anything */
bit  lpinf[N];        /* library ping in flight */
bit  synced[N];
byte v_pn[N];         /* view of /primary_node */
byte v_ver[N];
byte v_low[N];        /* owner of the lowest contender (NONE: no contender) */
bit  v_lowmine[N];    /* ... and it is ours (this session's) */
byte v_cmask[N];      /* owners that have a contender */
bit  my_lock[N];
bit  creating[N];
bit  releasing[N];    /* multi {routerstate secondary, delete contender} in flight */
bit  deleting[N];
bit  cont_inf[N];
bit  none_inf[N];
byte lease[N];        /* ticks left of the lease; 0: none / lapsed */
bit  pinf[N];         /* lease ping in flight */
byte page[N];         /* its age in ticks */
byte pt[N];           /* ticks to the next lease ping, OFF when stopped */
byte td[N];           /* takeover delay timer, OFF when not running */
bit  td_done[N];
byte ka[N];
byte missing[N];
byte nwant[N];        /* 0, 1, UNK */
byte nhave[N];
byte rs[N];
byte ackv[N];         /* net-router ack not yet read: 0, 1, UNK = none */
bit  hello[N];        /* net-router HELLO not yet read */

/* ---- net-router and the kernel (per node) -------------------------------------- */
bit  nr_up[N];
byte nr_down[N];
bit  nr_prim[N];
byte nr_lease[N];     /* ticks left of the lease it was given */
byte nr_t[N];         /* ticks to its next refresh tick, OFF when idle */
bit  addr[N];         /* the floating address is configured in this host's kernel */
byte a_age[N];        /* ticks since the address was last added/refreshed */
bit  host_dead[N];

/* ---- properties ------------------------------------------------------------------ */
#if N == 2
#define TWO_ADDR (addr[0] && addr[1])
#define ONE_PRIMARY ((addr[0] && !addr[1] && nwant[0] == 1) || (addr[1] && !addr[0] && nwant[1] == 1))
#else
#define TWO_ADDR ((addr[0] && addr[1]) || (addr[0] && addr[2]) || (addr[1] && addr[2]))
#define ONE_PRIMARY ((addr[0] && !addr[1] && !addr[2] && nwant[0] == 1) || \
                     (addr[1] && !addr[0] && !addr[2] && nwant[1] == 1) || \
                     (addr[2] && !addr[0] && !addr[1] && nwant[2] == 1))
#endif

ltl safety { [] !TWO_ADDR }
ltl live { <> [] ONE_PRIMARY }

#define SAFE_CHECK assert(!TWO_ADDR)

/* ---- helpers -------------------------------------------------------------------- */
#define SEND(i, m, a) assert(len(up[i]) < 6); up[i]!m,a
#define FLUSH(c) do :: nempty(c) -> c?_,_ :: empty(c) -> break od
#define FLUSH5(c) do :: nempty(c) -> c?_,_,_,_,_ :: empty(c) -> break od

#ifdef SEEDED_NO_LEASE
#define LEASE_OK(i) (conn[i] || 1)
#else
#define LEASE_OK(i) (lease[i] > 0)
#endif
#define HELD(i) (my_lock[i] && v_lowmine[i])
#define ELIGIBLE(i) (rs[i] != PRI && rs[i] != TKO && rs[i] != REL && nwant[i] != 1)
#define WANT_LOCK(i) (v_pn[i] == i || (v_pn[i] == NONE && ELIGIBLE(i)))
#define LEASE_WANTED(i) (nwant[i] == 1 || my_lock[i] || creating[i] || WANT_LOCK(i))
#define DESIRED(i) (synced[i] && v_pn[i] == i && HELD(i) && LEASE_OK(i))

inline max_rank(r) {
	r = 0; j = 0;
	do
	:: j < N -> if :: rank[j] > r -> r = rank[j] :: else fi;
	            if :: orank[j] > r -> r = orank[j] :: else fi; j++
	:: else -> break
	od
}

/* remove the contender of rank r and renumber the others */
inline drop_rank(r) {
	j = 0;
	do
	:: j < N -> if :: rank[j] > r -> rank[j]-- :: else fi;
	            if :: orank[j] > r -> orank[j]-- :: else fi; j++
	:: else -> break
	od
}

/* /primary_node or its children changed: one-shot watches fire */
inline notify_all() {
	k = 0;
	do
	:: k < N -> if
	            :: watch[k] && conn[k] && s_alive[k] -> watch[k] = 0; dn[k]!NOTIFY,0,0,0,0
	            :: else
	            fi; k++
	:: else -> break
	od
}

/* the read answer for node i: value, version, lowest owner, lowest is ours, ours is
 * present, owners (node names in the contenders' data) */
inline view_of(i, lo, mine, mown, cmask) {
	lo = NONE; mine = 0; mown = (rank[i] > 0); cmask = 0; r = 255; j = 0;
	do
	:: j < N ->
		if :: rank[j] > 0 && rank[j] < r -> r = rank[j]; lo = j; mine = (j == i) :: else fi;
		if :: orank[j] > 0 && orank[j] < r -> r = orank[j]; lo = j; mine = 0 :: else fi;
		if :: rank[j] > 0 || orank[j] > 0 -> cmask = cmask | (1 << j) :: else fi;
		j++
	:: else -> break
	od
}

/* ---- ZooKeeper step ------------------------------------------------------------- */
inline zk_step() {
	i = 0;
	do
	:: i < N ->
		if :: sub == 0 && s_alive[i] && s_idle[i] < T_TK -> s_idle[i]++ :: else fi;
		if :: sub == 0 && o_alive[i] && o_idle[i] < T_TK -> o_idle[i]++ :: else fi;
		if
		:: cut[i] == 0 && conn[i] && s_alive[i] ->
			do
			:: nempty(up[i]) ->
				up[i]?m,a;
				s_idle[i] = 0;
				if
				:: m == PING -> dn[i]!PONG,0,0,0,0
				:: m == LPING -> dn[i]!LPONG,0,0,0,0
				:: m == CREATE ->
					if :: rank[i] == 0 -> max_rank(r); rank[i] = r + 1; notify_all() :: else fi;
					dn[i]!CREATED,0,0,0,0
				:: m == RELEASE ->
					if
					:: rank[i] > 0 -> r = rank[i]; rank[i] = 0; drop_rank(r); notify_all();
					   dn[i]!RELEASED,1,0,0,0
					:: else -> dn[i]!RELEASED,0,0,0,0     /* ZNONODE: the multi fails */
					fi
				:: m == DELETE ->
					if :: rank[i] > 0 -> r = rank[i]; rank[i] = 0; drop_rank(r); notify_all() :: else fi;
					dn[i]!DELETED,0,0,0,0
				:: m == SETPN ->
					if :: a == pver -> pn = i; pver = (pver + 1) % VERS; notify_all();
					      printf("t=%d zookeeper: /primary_node = node %d\n", tick, i) :: else fi;
					dn[i]!SETDONE,0,0,0,0
				:: m == SETNONE ->
					if :: a == pver -> pn = NONE; pver = (pver + 1) % VERS; notify_all();
					      printf("t=%d zookeeper: /primary_node = none (by node %d)\n", tick, i) :: else fi;
					dn[i]!NONEDONE,0,0,0,0
				:: m == READ ->
					watch[i] = 1;
					view_of(i, lo, mine, mown, cmask);
					dn[i]!VIEW,pn,pver,lo + (mine << 4) + (mown << 5),cmask
				fi
			:: empty(up[i]) -> break
			od
		:: else
		fi;
		/* session expiry: T without hearing from the client; ephemerals go */
		if
		:: s_alive[i] && s_idle[i] >= T_TK ->
			printf("t=%d zookeeper: session of node %d expired, its contender deleted\n", tick, i);
			s_alive[i] = 0; watch[i] = 0;
			if :: rank[i] > 0 -> r = rank[i]; rank[i] = 0; drop_rank(r); notify_all() :: else fi
		:: else
		fi;
		if
		:: o_alive[i] && o_idle[i] >= T_TK ->
			o_alive[i] = 0;
			if :: orank[i] > 0 -> r = orank[i]; orank[i] = 0; drop_rank(r); notify_all() :: else fi
		:: else
		fi;
		i++
	:: else -> break
	od
}

/* ---- zk-election ---------------------------------------------------------------- */
inline net_send(i) {
	if
	:: nr_up[i] && nwant[i] == 1 -> ipc[i]!TAKE,lease[i]
	:: nr_up[i] && nwant[i] != 1 -> ipc[i]!RELQ,0
	:: else                          /* no net-router: the frame is dropped */
	fi
}

inline send_ping(i) {
	if
	:: conn[i] && !pinf[i] -> SEND(i, PING, 0); pinf[i] = 1; page[i] = 0
	:: else
	fi
}

inline instruct(i, d) {
	if
	:: d ->
		if
		:: DLY > 0 && !td_done[i] -> if :: td[i] == OFF -> td[i] = DLY :: else fi
		:: else ->
			td_done[i] = 0; nwant[i] = 1;
			printf("t=%d node %d zk-election: taking over (NET_TAKEOVER, lease %d ticks)\n", tick, i, lease[i]);
			if :: rs[i] != PRI && rs[i] != TKO -> rs[i] = TKO :: else fi;
			net_send(i)
		fi
	:: else ->
		if :: nwant[i] == 1 -> printf("t=%d node %d zk-election: relinquish (lease %d)\n", tick, i, lease[i]) :: else fi;
		td[i] = OFF; td_done[i] = 0; nwant[i] = 0;
		if :: rs[i] == PRI || rs[i] == TKO -> rs[i] = REL :: else fi;
		net_send(i)
	fi
}

inline evaluate(i) {
	/* zk_session_lease_kick */
	if
	:: pt[i] == OFF && LEASE_WANTED(i) -> send_ping(i); pt[i] = PERIOD
	:: else
	fi;
	des = DESIRED(i);
	if
	:: synced[i] && des != nwant[i] -> instruct(i, des)
	:: !synced[i] && nwant[i] == 1 && !LEASE_OK(i) -> instruct(i, 0)
	:: else
	fi;
	if
	:: conn[i] && synced[i] ->
		tgt = UNK;
		if
		:: nwant[i] == 1 && nhave[i] == 1 -> tgt = PRI
		:: nwant[i] == 0 && nhave[i] == 0 -> tgt = SEC
		:: else
		fi;
		if
		:: tgt != UNK && rs[i] != tgt && !releasing[i] ->
			if
			:: tgt == SEC && my_lock[i] && !WANT_LOCK(i) && !creating[i] && !deleting[i] ->
				SEND(i, RELEASE, 0); releasing[i] = 1
			:: else -> rs[i] = tgt    /* routerstate writes are not modelled in ZooKeeper */
			fi
		:: else ->
			if
			:: WANT_LOCK(i) ->
				if :: !my_lock[i] && !creating[i] -> SEND(i, CREATE, 0); creating[i] = 1 :: else fi
			:: !WANT_LOCK(i) && my_lock[i] && nwant[i] == 0 && nhave[i] == 0 && rs[i] == SEC &&
			   !deleting[i] && !releasing[i] ->
				SEND(i, DELETE, 0); deleting[i] = 1
			:: else
			fi;
			if
			:: v_pn[i] == NONE && HELD(i) && ELIGIBLE(i) && !cont_inf[i] ->
				SEND(i, SETPN, v_ver[i]); cont_inf[i] = 1
			:: else
			fi
		fi
	:: else
	fi
}

/* the connection dropped: in-flight requests fail with ZCONNECTIONLOSS */
inline conn_lost(i) {
	conn[i] = 0; FLUSH(up[i]); FLUSH5(dn[i]);
	pinf[i] = 0; lpinf[i] = 0; creating[i] = 0; releasing[i] = 0; deleting[i] = 0;
	cont_inf[i] = 0; none_inf[i] = 0
}

/* a new session: every lock is lost (zk_elect_session_lost) */
inline session_lost(i) {
	my_lock[i] = 0; creating[i] = 0; releasing[i] = 0; deleting[i] = 0;
	synced[i] = 0; lease[i] = 0; v_cmask[i] = 0; v_lowmine[i] = 0;
	evaluate(i)
}

inline connect(i) {
	if
	:: !s_alive[i] ->                   /* expired, or never had one: new session */
		printf("t=%d node %d zk-election: new session\n", tick, i);
		session_lost(i);
		s_alive[i] = 1; s_idle[i] = 0; watch[i] = 0;
		rs[i] = SEC                     /* registration writes routerstate secondary */
	:: else                             /* same session resumed / reconnected */
	fi;
	conn[i] = 1; c_idle[i] = 0; synced[i] = 0;
	SEND(i, READ, 0);
	send_ping(i)
}

inline ze_step(i) {
	/* time (first round of the tick only) */
	if
	:: sub == 0 ->
		if :: conn[i] && c_idle[i] < T23_TK -> c_idle[i]++ :: else fi;
#ifndef SEEDED_NO_LEASE
		if :: lease[i] > 0 -> lease[i]-- :: else fi;
#endif
		if :: pinf[i] && page[i] < LW -> page[i]++ :: else fi;
		if :: pt[i] != OFF && pt[i] > 0 -> pt[i]-- :: else fi;
		if :: td[i] != OFF && td[i] > 0 -> td[i]-- :: else fi;
		if :: ka[i] > 0 -> ka[i]-- :: else fi
	:: else
	fi;

	/* connection */
	if
	:: conn[i] && !s_alive[i] -> conn_lost(i)          /* the server closed an expired session */
	:: conn[i] && c_idle[i] >= T23_TK -> conn_lost(i);  /* client-side 2T/3 timeout */
		printf("t=%d node %d zk-election: connection lost (2T/3 without answer)\n", tick, i)
	:: else
	fi;
	if :: !conn[i] && cut[i] == 0 -> connect(i) :: else fi;

	/* net-router */
	if
	:: hello[i] -> hello[i] = 0;
		if :: nwant[i] == UNK -> nwant[i] = 0 :: else fi;
		nhave[i] = UNK; net_send(i)
	:: else
	fi;
	if
	:: ackv[i] != UNK ->
		nhave[i] = ackv[i]; ackv[i] = UNK;
		if :: nhave[i] == 1 && nwant[i] != 1 -> net_send(i) :: else fi
	:: else
	fi;

	/* ZooKeeper answers and watches */
	if
	:: conn[i] && cut[i] == 0 ->
		do
		:: nempty(dn[i]) ->
			dn[i]?m,a,b,c,d;
			c_idle[i] = 0;
			if
			:: m == PONG -> pinf[i] = 0;
				if
				:: page[i] < LW -> lease[i] = LW - page[i];
					if :: nwant[i] == 1 && nr_up[i] -> ipc[i]!LEASE,lease[i] :: else fi
				:: else
				fi
			:: m == LPONG -> lpinf[i] = 0
			:: m == CREATED -> creating[i] = 0; my_lock[i] = 1
			:: m == RELEASED -> releasing[i] = 0;
				if :: a -> my_lock[i] = 0; rs[i] = SEC :: else fi
			:: m == DELETED -> deleting[i] = 0; my_lock[i] = 0
			:: m == SETDONE -> cont_inf[i] = 0
			:: m == NONEDONE -> none_inf[i] = 0
			:: m == NOTIFY -> SEND(i, READ, 0)
			:: m == VIEW ->
				/* dead primary: the named node's contender vanished (lock.c owner_vanished) */
				vanished = synced[i] && a < N && v_pn[i] == a && (v_cmask[i] & (1 << a)) &&
				           !(d & (1 << a));
				v_pn[i] = a; v_ver[i] = b; v_low[i] = c & 15; v_lowmine[i] = (c >> 4) & 1; v_cmask[i] = d;
				if
				:: !((c >> 5) & 1) && my_lock[i] && !creating[i] ->
					my_lock[i] = 0              /* own contender disappeared */
				:: v_lowmine[i] && !my_lock[i] -> my_lock[i] = 1   /* adopted (ephemeralOwner) */
				:: else
				fi;
				synced[i] = 1;
				if
				:: vanished && a != i && !none_inf[i] -> SEND(i, SETNONE, b); none_inf[i] = 1
				:: else
				fi
			fi
		:: empty(dn[i]) -> break
		od
	:: else
	fi;

	/* library ping after T/3 of silence */
	if :: conn[i] && c_idle[i] >= T3_TK && !lpinf[i] -> SEND(i, LPING, 0); lpinf[i] = 1 :: else fi;

	/* timers */
	if
	:: pt[i] == 0 ->
		if
		:: LEASE_WANTED(i) -> send_ping(i); pt[i] = PERIOD
		:: else -> pt[i] = OFF; lease[i] = 0
		fi
	:: else
	fi;
	if :: td[i] == 0 -> td[i] = OFF; td_done[i] = 1 :: else fi;
	if
	:: ka[i] == 0 -> ka[i] = KA_TK;
		/* a named primary without contender for two keepalive ticks */
		if
		:: synced[i] && conn[i] && v_pn[i] < N && v_pn[i] != i && !(v_cmask[i] & (1 << v_pn[i])) ->
			missing[i]++;
			if :: missing[i] >= 2 -> missing[i] = 0;
				if :: !none_inf[i] -> SEND(i, SETNONE, v_ver[i]); none_inf[i] = 1 :: else fi
			:: else fi
		:: else -> missing[i] = 0
		fi
	:: else
	fi;
	evaluate(i)
}

/* ---- net-router and kernel ------------------------------------------------------ */
inline nr_step(i) {
	if
	:: sub == 0 ->
#ifndef SEEDED_NO_LEASE
		if :: nr_lease[i] > 0 -> nr_lease[i]-- :: else fi;
#endif
		if :: nr_t[i] != OFF && nr_t[i] > 0 -> nr_t[i]-- :: else fi
	:: else
	fi;
	do
	:: nempty(ipc[i]) ->
		ipc[i]?m,a;
		if
		:: m == TAKE ->
#ifdef SEEDED_NO_LEASE
			a = 1;
#endif
			if
			:: a == 0 -> addr[i] = 0; nr_prim[i] = 0; nr_t[i] = OFF; ackv[i] = 0  /* lease expired */
			:: else -> nr_lease[i] = a;
				if :: !addr[i] -> printf("t=%d node %d net-router: address ADDED\n", tick, i) :: else fi;
				addr[i] = 1; a_age[i] = 0; nr_prim[i] = 1; ackv[i] = 1;
				nr_t[i] = (a < R_TK -> a : R_TK)
			fi
		:: m == RELQ ->
			if :: addr[i] -> printf("t=%d node %d net-router: address removed (relinquish)\n", tick, i) :: else fi;
			addr[i] = 0; nr_prim[i] = 0; nr_t[i] = OFF; ackv[i] = 0
		:: m == LEASE -> nr_lease[i] = a;
			if :: nr_prim[i] && nr_t[i] != OFF && a < nr_t[i] -> nr_t[i] = a :: else fi
		fi
	:: empty(ipc[i]) -> break
	od;
	if
	:: nr_prim[i] && nr_t[i] == 0 ->
		if
#ifndef SEEDED_NO_LEASE
		:: nr_lease[i] == 0 -> addr[i] = 0; nr_prim[i] = 0; nr_t[i] = OFF;   /* lease lapsed */
			printf("t=%d node %d net-router: lease lapsed, address removed\n", tick, i)
#endif
		:: else -> addr[i] = 1; a_age[i] = 0;
#ifdef SEEDED_NO_LEASE
			nr_t[i] = R_TK
#else
			nr_t[i] = (nr_lease[i] < R_TK -> nr_lease[i] : R_TK)
#endif
		fi
	:: else
	fi
}

inline kernel_step(i) {
	if
	:: addr[i] -> a_age[i]++;
		if :: a_age[i] >= L_TK + SLACK_TK -> addr[i] = 0; a_age[i] = 0;
			printf("t=%d node %d kernel: address lifetime over, address gone\n", tick, i)
		:: else fi
	:: else
	fi
}

inline ze_init(i) {
	conn[i] = 0; c_idle[i] = 0; lpinf[i] = 0; synced[i] = 0;
	v_pn[i] = NONE; v_ver[i] = 0; v_low[i] = NONE; v_lowmine[i] = 0; v_cmask[i] = 0;
	my_lock[i] = 0; creating[i] = 0; releasing[i] = 0; deleting[i] = 0; cont_inf[i] = 0;
	none_inf[i] = 0; lease[i] = 0; pinf[i] = 0; page[i] = 0; pt[i] = PERIOD; td[i] = OFF;
	td_done[i] = 0; ka[i] = KA_TK; missing[i] = 0; nwant[i] = UNK; nhave[i] = UNK; ackv[i] = UNK
}

inline nr_init(i) {
	nr_prim[i] = 0; nr_lease[i] = 0; nr_t[i] = OFF;
	addr[i] = 0; a_age[i] = 0;           /* start-up reconciliation removes leftovers */
	FLUSH(ipc[i]); hello[i] = 1
}

inline node_step(i) {
	if
	:: !host_dead[i] ->
		if
		:: sub == 0 && !nr_up[i] && nr_down[i] != OFF -> nr_down[i]--;
			if :: nr_down[i] == 0 -> nr_down[i] = OFF; nr_up[i] = 1; nr_init(i) :: else fi
		:: else
		fi;
		if
		:: sub == 0 && !ze_up[i] && ze_down[i] != OFF -> ze_down[i]--;
			if
			:: ze_down[i] == 0 -> ze_down[i] = OFF; ze_up[i] = 1; ze_init(i);
				if :: fresh[i] -> fresh[i] = 0; s_alive[i] = 0; rs[i] = SEC :: else fi
			:: else
			fi
		:: else
		fi;
		if :: ze_up[i] -> ze_step(i) :: else fi;
		if :: nr_up[i] -> nr_step(i) :: else fi;
		if :: sub == 0 -> kernel_step(i) :: else fi
	:: else
	fi;
	if :: sub == 0 && cut[i] > 0 -> cut[i]-- :: else fi
}

/* ---- processes ------------------------------------------------------------------ */
hidden byte i, j, k, r, a, b, c, d, lo, cmask, tgt;
hidden byte mine, mown, des, vanished, x;
hidden mtype m;

#define T_ZK 1
#define T_NODE(n) (3 + 2 * (n))
#define T_CLOCK (2 * N + 3)

proctype ZooKeeper() {
	do
	:: d_step { turn == T_ZK -> zk_step(); SAFE_CHECK; turn++ }
	od
}

proctype Node(byte me) {
	do
	:: d_step { turn == T_NODE(me) -> node_step(me); SAFE_CHECK; turn++ }
	od
}

/* crash any process, cut a node from ZooKeeper for a while, or delay its messages,
 * between any two steps, within the budget */
inline crash_ze(x, dur) {
	ze_up[x] = 0; conn[x] = 0; FLUSH(up[x]); FLUSH5(dn[x]); ackv[x] = UNK;
	ze_down[x] = dur
}

/* fault points: before every step (default), or with -DFAULT_AT_TICK only at the
 * start of a tick (fewer interleavings, for the larger configurations) */
#ifdef FAULT_AT_TICK
#define FAULT_POINT (turn == 0)
#else
#define FAULT_POINT 1
#endif

proctype Faults() {
	do
	:: atomic { (turn % 2 == 0 && turn < T_CLOCK) ->
		if
		:: skip
		:: faults > 0 && FAULT_POINT ->
			faults--;
			if
			:: x = 0
			:: x = 1
#if N > 2
			:: x = 2
#endif
			fi;
			if
			/* zk-election dies; the supervisor keeps its session and restarts it */
			:: ze_up[x] -> crash_ze(x, 1)
			:: ze_up[x] -> crash_ze(x, 2 * T_TK)
			/* net-router dies and is restarted */
			:: nr_up[x] -> nr_up[x] = 0; FLUSH(ipc[x]); nr_down[x] = 1
			/* kill -9 of the whole daemon (host alive, addresses stay in its kernel);
			 * systemd starts a new one, with a new session; the old one lingers */
			:: ze_up[x] && nr_up[x] && !o_alive[x] ->
				if
				:: s_alive[x] -> o_alive[x] = 1; o_idle[x] = s_idle[x]; orank[x] = rank[x];
				   rank[x] = 0; s_alive[x] = 0; watch[x] = 0
				:: else
				fi;
				if
				:: crash_ze(x, 1); nr_down[x] = 1              /* systemd restarts it */
				:: crash_ze(x, 2 * T_TK); nr_down[x] = 2 * T_TK  /* ... much later */
				fi;
				fresh[x] = 1; nr_up[x] = 0; FLUSH(ipc[x])
			/* host death: power off, never back */
			:: !host_dead[x] ->
				host_dead[x] = 1; crash_ze(x, OFF); nr_up[x] = 0; FLUSH(ipc[x]);
				nr_down[x] = OFF; addr[x] = 0
			/* link to ZooKeeper down for a while: a delay, a partition shorter than the
			 * client's 2T/3, one between 2T/3 and T, one of 2T (expiry and takeover happen) */
			:: cut[x] == 0 -> cut[x] = 2
			:: cut[x] == 0 -> cut[x] = W_TK + 1
			:: cut[x] == 0 -> cut[x] = T23_TK + 2
			:: cut[x] == 0 -> cut[x] = 2 * T_TK
			:: else -> faults++
			fi;
			printf("t=%d FAULT node %d: zk-election up %d, net-router up %d, link to ZooKeeper cut for %d ticks, host dead %d\n",
			       tick, x, ze_up[x], nr_up[x], cut[x], host_dead[x])
		fi;
		turn++ }
	od
}

/* messages or instructions are still in flight on a link that works */
#define PENDING(n) ((cut[n] == 0 && conn[n] && (len(up[n]) > 0 || len(dn[n]) > 0)) || \
                    (ze_up[n] && (ackv[n] != UNK || hello[n])) || (nr_up[n] && len(ipc[n]) > 0))
#if N == 2
#define ANY_PENDING (PENDING(0) || PENDING(1))
#else
#define ANY_PENDING (PENDING(0) || PENDING(1) || PENDING(2))
#endif

/* the global clock: another round of the same tick while messages are in flight,
 * else the next tick */
proctype Clock() {
	do
	:: atomic { turn == T_CLOCK ->
		if
		:: sub + 1 < RMAX && ANY_PENDING -> sub++
		:: else -> sub = 0; tick++
		fi;
		turn = 0 }
	od
}

init {
	atomic {
		i = 0;
		do
		:: i < N -> ze_up[i] = 1; nr_up[i] = 1; ze_down[i] = OFF; nr_down[i] = OFF;
		            ze_init(i); nr_init(i); hello[i] = 1; rs[i] = SEC; i++
		:: else -> break
		od;
		i = 0;
		run Faults(); run ZooKeeper();
		do
		:: i < N -> run Node(i); i++
		:: else -> break
		od;
		run Clock()
	}
}
