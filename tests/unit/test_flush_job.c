/*
 * test_flush_job.c: the flush/unflush state machine against an in-process fake of
 * zk-election (a ZooKeeper tree with versions, multi-op writes, CAS) and of the
 * vm-managers of three nodes (a VM in `migrate` moves after a delay, `shutdown`
 * stops it, `start` starts it on its node). The fake checks every placement against
 * its own copy of the reference selector at the moment of the write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evloop.h"
#include "ipc.h"
#include "log.h"
#include "pvc.h"
#include "flush_job.h"

#define MAXK 2048
#define NVM 30
#define MOVE_MS 5
#define LAG_MS 15

struct kv {
	char path[128];
	char *val;
	long ver;
};

struct sim {
	struct ev_loop *loop;
	struct flush_job *job;
	struct kv kv[MAXK];
	int nkv;
	int placements[NVM];  /* placement writes per VM (state=migrate/shutdown by the job) */
	int mismatches;       /* choices that differ from the reference oracle */
	int stuck_vm;         /* VM index the fake vm-manager never moves (-1: none) */
	int fail_connect;     /* answer this many requests with -1001 first */
	int in_flight, max_in_flight;
	int domainstate_writes;
	int deliver_ds;       /* forward domainstate changes to the job (the watch) */
	uint64_t moves_pending;
	int no_oracle;
};

static struct sim S;

static char uuid[NVM][37];

static struct kv *kv_find(const char *path)
{
	for (int i = 0; i < S.nkv; i++)
		if (strcmp(S.kv[i].path, path) == 0)
			return &S.kv[i];
	return NULL;
}

static void kv_set(const char *path, const char *val)
{
	struct kv *k = kv_find(path);

	if (k == NULL) {
		assert_true(S.nkv < MAXK);
		k = &S.kv[S.nkv++];
		snprintf(k->path, sizeof(k->path), "%s", path);
		k->ver = -1;
	}
	free(k->val);
	k->val = strdup(val);
	k->ver++;
}

static const char *kv_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *kv_get(const char *fmt, ...)
{
	char p[128];
	va_list ap;
	struct kv *k;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	k = kv_find(p);
	return k ? k->val : NULL;
}

static void kv_setf(const char *val, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv_setf(const char *val, const char *fmt, ...)
{
	char p[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	kv_set(p, val);
}

static const char *nodes[3] = {"hv1", "hv2", "hv3"};

/* ---- the fake vm-managers ---------------------------------------------------- */

static void running_del(const char *node, const char *u)
{
	char buf[NVM * 40] = "", *save = NULL;
	char *copy = strdup(kv_get("/nodes/%s/runningdomains", node));

	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (strcmp(t, u) != 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "", t);
	free(copy);
	kv_setf(buf, "/nodes/%s/runningdomains", node);
}

static void running_add(const char *node, const char *u)
{
	char buf[NVM * 40];
	const char *cur = kv_get("/nodes/%s/runningdomains", node);

	snprintf(buf, sizeof(buf), "%s%s%s", cur, cur[0] ? " " : "", u);
	kv_setf(buf, "/nodes/%s/runningdomains", node);
}

static int vm_index(const char *u)
{
	for (int i = 0; i < NVM; i++)
		if (strcmp(uuid[i], u) == 0)
			return i;
	return -1;
}

static const char *running_on(const char *u)
{
	const char *want = kv_get("/domains/%s/node", u);
	const char *r0 = want ? kv_get("/nodes/%s/runningdomains", want) : NULL;

	if (r0 && strstr(r0, u))
		return want;
	for (int n = 0; n < 3; n++) {
		const char *r = kv_get("/nodes/%s/runningdomains", nodes[n]);
		if (r && strstr(r, u))
			return nodes[n];
	}
	return NULL;
}

/* Keep the per-node figures consistent with what runs where (what the keepalive does). */
static void refresh_figures(void)
{
	for (int n = 0; n < 3; n++) {
		long alloc = 0, vcpus = 0, count = 0;
		char b[32];
		for (int i = 0; i < NVM; i++) {
			const char *on = running_on(uuid[i]);
			if (on && strcmp(on, nodes[n]) == 0) {
				alloc += 512L * (i % 5 + 1);
				vcpus += i % 3 + 1;
				count++;
			}
		}
		snprintf(b, sizeof(b), "%ld", alloc);
		kv_setf(b, "/nodes/%s/memalloc", nodes[n]);
		snprintf(b, sizeof(b), "%ld", vcpus);
		kv_setf(b, "/nodes/%s/vcpualloc", nodes[n]);
		snprintf(b, sizeof(b), "%ld", count);
		kv_setf(b, "/nodes/%s/domainscount", nodes[n]);
	}
}

static void vmm_lag(struct ev_loop *loop, void *arg)
{
	int v = (int)(intptr_t)arg;

	running_del(nodes[v >> 16], uuid[v & 0xffff]);
	refresh_figures();
}

static void vmm_act(struct ev_loop *loop, void *arg)
{
	int i = (int)(intptr_t)arg;
	const char *u = uuid[i];
	const char *st = kv_get("/domains/%s/state", u);
	const char *node = kv_get("/domains/%s/node", u);
	const char *on = running_on(u);

	S.moves_pending--;
	if (i == S.stuck_vm)
		return;
	if (strcmp(st, "migrate") == 0 && on && strcmp(on, node) != 0) {
		/* the source's keepalive drops it from runningdomains a little later */
		running_add(node, u);
		kv_setf("start", "/domains/%s/state", u);
		for (int n = 0; n < 3; n++)
			if (strcmp(on, nodes[n]) == 0)
				assert_int_not_equal(ev_timer(S.loop, LAG_MS, vmm_lag,
							      (void *)(intptr_t)(i | n << 16)), 0);
	} else if (strcmp(st, "migrate") == 0 && on == NULL) {
		running_add(node, u);
		kv_setf("start", "/domains/%s/state", u);
	} else if (strcmp(st, "shutdown") == 0) {
		if (on)
			running_del(on, u);
		kv_setf("stop", "/domains/%s/state", u);
	} else if (strcmp(st, "start") == 0 && on == NULL) {
		running_add(node, u);
	}
	refresh_figures();
}

static void vmm_notice(const char *path)
{
	char u[37];

	if (sscanf(path, "/domains/%36[0-9a-f-]/state", u) == 1 && vm_index(u) >= 0) {
		S.moves_pending++;
		assert_int_not_equal(ev_timer(S.loop, MOVE_MS, vmm_act, (void *)(intptr_t)vm_index(u)), 0);
	}
}

/* ---- the oracle: the reference selector, written out again ------------------ */

static const char *oracle(const char *u)
{
	const char *sel = kv_get("/domains/%s/node_selector", u);
	const char *limit = kv_get("/domains/%s/node_limit", u);
	const char *cur = kv_get("/domains/%s/node", u);
	const char *best = NULL;
	long most = 0, least = 9999;

	if (sel == NULL || strcmp(sel, "None") == 0)
		sel = "mem"; /* the test's configured default */
	for (int n = 0; n < 3; n++) {
		const char *nd = nodes[n];
		char lim[128];
		if (limit && limit[0]) {
			snprintf(lim, sizeof(lim), ",%s,", limit);
			char want[16];
			snprintf(want, sizeof(want), ",%s,", nd);
			if (!strstr(lim, want))
				continue;
		}
		if (strcmp(nd, cur) == 0 || strcmp(kv_get("/nodes/%s/daemonstate", nd), "run") ||
		    strcmp(kv_get("/nodes/%s/domainstate", nd), "ready"))
			continue;
		if (strcmp(sel, "mem") == 0) {
			long f = atol(kv_get("/nodes/%s/memused", nd)) + atol(kv_get("/nodes/%s/memfree", nd)) -
				 atol(kv_get("/nodes/%s/memalloc", nd));
			if (f > most)
				most = f, best = nd;
		} else {
			long v = atol(kv_get("/nodes/%s/%s", nd, strcmp(sel, "vcpus") == 0 ? "vcpualloc" : "domainscount"));
			if (v < least)
				least = v, best = nd;
		}
	}
	return best;
}

/* ---- the fake zk-election ------------------------------------------------------ */

struct req {
	uint32_t type;
	uint32_t n;
	char **v;
};

static void reply(struct ipc_strv_buf *b)
{
	struct ipc_strv sv;
	size_t len;
	const uint8_t *p = strvb_finish(b, &len);

	assert_non_null(p);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	if (S.job)
		flush_job_reply(S.job, &sv);
	ipc_strv_free(&sv);
	strvb_free(b);
}

static void ds_deliver(struct ev_loop *loop, void *arg)
{
	struct kv *k = kv_find("/nodes/hv1/domainstate");
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	size_t len;
	const uint8_t *p;

	strvb_init(&b);
	strvb_add(&b, k->val);
	strvb_addf(&b, "%ld", k->ver);
	p = strvb_finish(&b, &len);
	assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
	if (S.job)
		flush_job_domainstate(S.job, &sv);
	ipc_strv_free(&sv);
	strvb_free(&b);
}

static void set_domainstate(const char *v)
{
	kv_set("/nodes/hv1/domainstate", v);
	assert_int_not_equal(ev_timer(S.loop, 0, ds_deliver, NULL), 0);
}

static int do_write(struct req *r)
{
	/* check every CAS first: the transaction is all or nothing */
	for (uint32_t i = 1; i + 2 < r->n; i += 3) {
		struct kv *k = kv_find(r->v[i + 1]);
		if (strncmp(r->v[i], "setv:", 5) == 0) {
			if (k == NULL)
				return -101;
			if (atol(r->v[i] + 5) != k->ver)
				return -103;
		} else if (strcmp(r->v[i], "set") != 0) {
			return -1000;
		}
	}
	/* the oracle sees the tree as it was when the job decided */
	for (uint32_t i = 1; i + 2 < r->n; i += 3) {
		char u[37];
		if (sscanf(r->v[i + 1], "/domains/%36[0-9a-f-]/state", u) != 1 ||
		    (strcmp(r->v[i + 2], "migrate") != 0 && strcmp(r->v[i + 2], "shutdown") != 0))
			continue;
		S.placements[vm_index(u)]++;
		if (strcmp(kv_get("/domains/%s/node", u), "hv1") == 0) {
			const char *want = oracle(u), *got = NULL;
			for (uint32_t k = 1; k + 2 < r->n; k += 3)
				if (strlen(r->v[k + 1]) >= 5 &&
				    strcmp(r->v[k + 1] + strlen(r->v[k + 1]) - 5, "/node") == 0)
					got = r->v[k + 2];
			if (strcmp(r->v[i + 2], "shutdown") == 0)
				got = NULL;
			if (!S.no_oracle &&
			    ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))) {
				S.mismatches++;
				print_message("VM %s: job chose %s, reference %s\n", u, got ? got : "-",
					      want ? want : "-");
			}
		}
	}
	for (uint32_t i = 1; i + 2 < r->n; i += 3) {
		kv_set(r->v[i + 1], r->v[i + 2]);
		if (strcmp(r->v[i + 1], "/nodes/hv1/domainstate") == 0) {
			S.domainstate_writes++;
			if (S.deliver_ds)
				assert_int_not_equal(ev_timer(S.loop, 0, ds_deliver, NULL), 0);
		}
		vmm_notice(r->v[i + 1]);
	}
	{
		int moving = 0;
		for (int k = 0; k < NVM; k++) {
			const char *st = kv_get("/domains/%s/state", uuid[k]);
			moving += strcmp(st, "migrate") == 0 || strcmp(st, "shutdown") == 0;
		}
		if (moving > S.max_in_flight)
			S.max_in_flight = moving;
	}
	return 0;
}

static void answer(struct ev_loop *loop, void *arg)
{
	struct req *r = arg;
	struct ipc_strv_buf b;

	strvb_init(&b);
	strvb_add(&b, r->v[0]);
	if (S.fail_connect > 0) {
		S.fail_connect--;
		strvb_add(&b, "-1001");
	} else if (r->type == MSG_ZK_GET) {
		struct kv *k = kv_find(r->v[1]);
		if (k) {
			strvb_add(&b, "0");
			strvb_add(&b, k->val);
			strvb_addf(&b, "%ld", k->ver);
		} else {
			strvb_add(&b, "-101");
		}
	} else if (r->type == MSG_ZK_CHILDREN) {
		strvb_add(&b, "0");
		if (strcmp(r->v[1], "/nodes") == 0)
			for (int n = 0; n < 3; n++)
				strvb_add(&b, nodes[n]);
		else
			for (int i = 0; i < NVM; i++)
				strvb_add(&b, uuid[i]);
	} else {
		strvb_addf(&b, "%d", do_write(r));
	}
	reply(&b);
	for (uint32_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

static int fake_send(void *arg, uint32_t type, const char *const *v, uint32_t n)
{
	struct req *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->type = type;
	r->n = n;
	r->v = calloc(n, sizeof(char *));
	for (uint32_t i = 0; i < n; i++)
		r->v[i] = strdup(v[i]);
	/* never answer synchronously: zk-election is another process */
	assert_int_not_equal(ev_timer(S.loop, 0, answer, r), 0);
	return 0;
}

/* ---- harness -------------------------------------------------------------------- */

static struct flush_job *new_job(int in_flight, uint64_t timeout_ms)
{
	struct flush_params p = {.node = "hv1", .selector = "mem", .in_flight = in_flight,
				 .vm_timeout_ms = timeout_ms, .poll_ms = 2, .req_timeout_ms = 2000,
				 .retry_min_ms = 1};
	struct flush_io io = {.arg = NULL, .send = fake_send, .status = NULL};
	struct flush_job *j = flush_job_new(S.loop, &p, &io);

	assert_non_null(j);
	return j;
}

static int setup(void **state)
{
	static const char *sels[] = {"None", "mem", "vcpus", "vms"};

	memset(&S, 0, sizeof(S));
	S.loop = ev_new();
	S.stuck_vm = -1;
	S.deliver_ds = 1;
	for (int n = 0; n < 3; n++) {
		kv_setf("run", "/nodes/%s/daemonstate", nodes[n]);
		kv_setf("ready", "/nodes/%s/domainstate", nodes[n]);
		kv_setf("1000", "/nodes/%s/memused", nodes[n]);
		kv_setf(n == 1 ? "30000" : "32000", "/nodes/%s/memfree", nodes[n]);
		kv_setf("0.5", "/nodes/%s/cpuload", nodes[n]);
		kv_setf("", "/nodes/%s/runningdomains", nodes[n]);
	}
	for (int i = 0; i < NVM; i++) {
		snprintf(uuid[i], sizeof(uuid[i]), "%08x-0000-4000-8000-%012x", 0x1000 + i, i);
		kv_setf("start", "/domains/%s/state", uuid[i]);
		kv_setf("hv1", "/domains/%s/node", uuid[i]);
		kv_setf("", "/domains/%s/lastnode", uuid[i]);
		if (i % 7 != 0) /* some VMs lack the key: written back empty */
			kv_setf("", "/domains/%s/node_limit", uuid[i]);
		kv_setf(sels[i % 4], "/domains/%s/node_selector", uuid[i]);
		if (i % 5 != 0) /* missing node_autostart counts as False */
			kv_setf("False", "/domains/%s/node_autostart", uuid[i]);
		running_add("hv1", uuid[i]);
	}
	refresh_figures();
	*state = NULL;
	return 0;
}

static void drain(struct ev_loop *loop, void *arg);

static int teardown(void **state)
{
	flush_job_free(S.job);
	S.job = NULL;
	/* let queued fake answers and moves run out before freeing the loop */
	for (int k = 0; k < 50; k++) {
		assert_int_not_equal(ev_timer(S.loop, 1, drain, NULL), 0);
		ev_run(S.loop);
	}
	ev_free(S.loop);
	for (int i = 0; i < S.nkv; i++)
		free(S.kv[i].val);
	return 0;
}

struct until {
	int (*cond)(void);
	uint64_t deadline;
	int met;
};

static void drain(struct ev_loop *loop, void *arg)
{
	ev_break(loop);
}

static void until_check(struct ev_loop *loop, void *arg)
{
	struct until *u = arg;

	if (u->cond()) {
		u->met = 1;
		ev_break(loop);
	} else if (mono_ms() >= u->deadline) {
		ev_break(loop);
	} else {
		assert_int_not_equal(ev_timer(loop, 1, until_check, u), 0);
	}
}

static int run_until(int (*cond)(void), uint64_t ms)
{
	struct until u = {cond, mono_ms() + ms, 0};

	assert_int_not_equal(ev_timer(S.loop, 1, until_check, &u), 0);
	ev_run(S.loop);
	return u.met;
}

static int ds_is(const char *v)
{
	return strcmp(kv_get("/nodes/hv1/domainstate"), v) == 0 && strcmp(flush_job_kind(S.job), "idle") == 0;
}
static int flushed(void) { return ds_is("flushed"); }
static int readied(void) { return ds_is("ready"); }
static int five_moved(void)
{
	int n = 0;
	for (int i = 0; i < NVM; i++)
		n += strcmp(kv_get("/domains/%s/node", uuid[i]), "hv1") != 0;
	return n >= 5;
}

static void assert_all_away(int except_from, int except_to)
{
	for (int i = 0; i < NVM; i++) {
		const char *on = running_on(uuid[i]);
		if (i >= except_from && i < except_to)
			continue;
		assert_non_null(on);
		assert_string_not_equal(on, "hv1");
		assert_string_equal(kv_get("/domains/%s/node", uuid[i]), on);
		assert_string_equal(kv_get("/domains/%s/lastnode", uuid[i]), "hv1");
		assert_string_equal(kv_get("/domains/%s/state", uuid[i]), "start");
		assert_non_null(kv_get("/domains/%s/node_limit", uuid[i]));
		assert_true(strcmp(kv_get("/domains/%s/node_selector", uuid[i]), "None") != 0);
	}
}

static void assert_all_home(void)
{
	for (int i = 0; i < NVM; i++) {
		const char *on = running_on(uuid[i]);
		assert_non_null(on);
		assert_string_equal(on, "hv1");
		assert_string_equal(kv_get("/domains/%s/node", uuid[i]), "hv1");
		assert_string_equal(kv_get("/domains/%s/lastnode", uuid[i]), "");
		assert_string_equal(kv_get("/domains/%s/state", uuid[i]), "start");
	}
}

/* ---- cases ---------------------------------------------------------------------- */

static void test_flush_then_unflush(void **state)
{
	int total, moved, failed;

	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	assert_all_away(0, 0);
	assert_int_equal(S.mismatches, 0);
	for (int i = 0; i < NVM; i++)
		assert_int_equal(S.placements[i], 1);
	assert_int_equal(S.max_in_flight, 1);
	assert_string_equal(kv_get("/nodes/hv1/runningdomains"), "");
	flush_job_counts(S.job, &total, &moved, &failed);
	assert_int_equal(total, NVM);
	assert_int_equal(moved, NVM);
	assert_int_equal(failed, 0);

	set_domainstate("unflush");
	assert_true(run_until(readied, 20000));
	assert_all_home();
	flush_job_counts(S.job, &total, &moved, &failed);
	assert_int_equal(moved, NVM);
	assert_int_equal(failed, 0);
}

static void test_unflush_cancels_flush(void **state)
{
	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(five_moved, 20000));
	set_domainstate("unflush");
	assert_true(run_until(readied, 20000));
	/* the flush never wrote `flushed`: the only domainstate write is `ready` */
	assert_int_equal(S.domainstate_writes, 1);
	assert_all_home();
	for (int i = 0; i < NVM; i++)
		assert_true(S.placements[i] <= 2); /* out once, back once at most */
}

static void test_no_room_then_autostart(void **state)
{
	for (int i = 0; i < 5; i++)
		kv_setf("hv1", "/domains/%s/node_limit", uuid[i]);
	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	assert_int_equal(S.mismatches, 0);
	for (int i = 0; i < 5; i++) {
		assert_string_equal(kv_get("/domains/%s/state", uuid[i]), "stop");
		assert_string_equal(kv_get("/domains/%s/node", uuid[i]), "hv1");
		assert_string_equal(kv_get("/domains/%s/node_autostart", uuid[i]), "True");
		assert_null(running_on(uuid[i]));
	}
	assert_all_away(0, 5);
	set_domainstate("unflush");
	assert_true(run_until(readied, 20000));
	assert_all_home();
	for (int i = 0; i < 5; i++)
		assert_string_equal(kv_get("/domains/%s/node_autostart", uuid[i]), "False");
}

static int moving_after_five(void)
{
	int moving = 0;
	for (int i = 0; i < NVM; i++)
		moving += strcmp(kv_get("/domains/%s/state", uuid[i]), "migrate") == 0;
	return five_moved() && moving > 0;
}

static void test_restart_mid_flush(void **state)
{
	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(moving_after_five, 20000));
	/* kill -9: the job vanishes with a move possibly in flight */
	flush_job_free(S.job);
	S.job = new_job(1, 5000);
	/* zk-election answers the new worker's HELLO */
	assert_int_not_equal(ev_timer(S.loop, 3, ds_deliver, NULL), 0);
	assert_true(run_until(flushed, 20000));
	assert_all_away(0, 0);
	for (int i = 0; i < NVM; i++)
		assert_int_equal(S.placements[i], 1); /* no VM moved twice */
}

static void test_timeout_continues(void **state)
{
	const char *v[8];
	uint32_t n;
	int found = 0, total, moved, failed;

	S.stuck_vm = 7;
	S.job = new_job(1, 200);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	assert_all_away(7, 8);
	flush_job_counts(S.job, &total, &moved, &failed);
	assert_int_equal(failed, 1);
	assert_int_equal(moved, NVM - 1);
	n = flush_job_status(S.job, v, 8);
	for (uint32_t i = 0; i < n; i++)
		if (strncmp(v[i], "failed=", 7) == 0 && strstr(v[i], uuid[7]))
			found = 1;
	assert_true(found);
}

static void test_not_connected_retries(void **state)
{
	S.fail_connect = 25;
	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(flushed, 30000));
	assert_int_equal(S.fail_connect, 0);
	assert_all_away(0, 0);
}

static void test_in_flight_four(void **state)
{
	S.job = new_job(4, 5000);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	assert_all_away(0, 0);
	assert_true(S.max_in_flight > 1);
	assert_true(S.max_in_flight <= 4);
	for (int i = 0; i < NVM; i++)
		assert_int_equal(S.placements[i], 1);
}

static void test_garbage(void **state)
{
	static const char *bad[][3] = {{"bogus", "1", NULL}, {"flush", "x", NULL}, {"flush", NULL, NULL},
				       {"flush", "1", "extra"}};
	struct ipc_strv_buf b;
	struct ipc_strv sv;
	size_t len;

	S.job = new_job(1, 5000);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		strvb_init(&b);
		for (int i = 0; i < 3 && bad[k][i]; i++)
			strvb_add(&b, bad[k][i]);
		const uint8_t *p = strvb_finish(&b, &len);
		assert_int_equal(ipc_strv_decode(p, len, &sv, NULL), 0);
		flush_job_domainstate(S.job, &sv);
		flush_job_reply(S.job, &sv);
		ipc_strv_free(&sv);
		strvb_free(&b);
	}
	assert_string_equal(flush_job_kind(S.job), "idle");
	/* a node with garbage memory figures is skipped: everything goes to hv3 */
	kv_set("/nodes/hv2/memused", "lots");
	for (int i = 0; i < NVM; i++)
		kv_setf("mem", "/domains/%s/node_selector", uuid[i]);
	kv_set("/nodes/hv3/memfree", "100000");
	S.no_oracle = 1; /* the oracle has no notion of garbage */
	kv_setf("%%bad", "/domains/%s/lastnode", uuid[4]);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	for (int i = 0; i < NVM; i++) {
		assert_string_equal(running_on(uuid[i]), "hv3");
		/* an invalid return address is replaced by this node */
		assert_string_equal(kv_get("/domains/%s/lastnode", uuid[i]), "hv1");
	}
}

/* A VM stopped while away only gets its placement back (the API's unmigrate): the
 * reference migrated it, which ended in `fail`. */
static void test_unflush_keeps_stopped_state(void **state)
{
	const char *away;

	S.job = new_job(1, 5000);
	set_domainstate("flush");
	assert_true(run_until(flushed, 20000));
	away = kv_get("/domains/%s/node", uuid[3]);
	running_del(away, uuid[3]);
	kv_setf("stop", "/domains/%s/state", uuid[3]);
	kv_setf("disable", "/domains/%s/state", uuid[4]); /* running list left as is */
	running_del(running_on(uuid[4]), uuid[4]);
	memset(S.placements, 0, sizeof(S.placements));
	set_domainstate("unflush");
	assert_true(run_until(readied, 20000));
	assert_string_equal(kv_get("/domains/%s/state", uuid[3]), "stop");
	assert_string_equal(kv_get("/domains/%s/state", uuid[4]), "disable");
	for (int i = 3; i <= 4; i++) {
		assert_string_equal(kv_get("/domains/%s/node", uuid[i]), "hv1");
		assert_string_equal(kv_get("/domains/%s/lastnode", uuid[i]), "");
		assert_int_equal(S.placements[i], 0);
		assert_null(running_on(uuid[i]));
	}
	for (int i = 5; i < NVM; i++)
		assert_string_equal(running_on(uuid[i]), "hv1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flush_then_unflush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unflush_cancels_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_room_then_autostart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_mid_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_connected_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_flight_four, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unflush_keeps_stopped_state, setup, teardown),
	};
	struct log_opts lo = {.colours = 0, .dates = 0, .to_stdout = 0, .debug = 0};

	log_init("flush-test", &lo);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
