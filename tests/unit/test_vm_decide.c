/*
 * test_vm_decide.c: the VM decision table of ref §5.3, row by row, the console
 * log tail (bounded lines, invalid UTF-8 replaced), and the write-back of an action's
 * result against newer commands (issue #15: compare-and-set on the version the
 * action served, a lost compare-and-set dropped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vm_domain.h"

/* ---- a vm-manager with recorded requests instead of zk-election and libvirt ---- */

struct fake {
	struct vmm m;
	struct worker w;
	struct pvc_config cfg;
	int nsent;                 /* ZooKeeper requests sent */
	int kind;                  /* the last one's */
	uint32_t type;
	char args[8][128];
	uint32_t nargs;
	struct vlv_job *job;       /* the last libvirt job submitted */
};

static int fake_zk_send(struct vmm *m, struct vm_rec *r, int kind, uint32_t type,
			const char *const *args, uint32_t n)
{
	struct fake *f = (struct fake *)m;

	f->nsent++;
	f->kind = kind;
	f->type = type;
	f->nargs = n;
	for (uint32_t i = 0; i < n && i < 8; i++)
		strlcpy_pvc(f->args[i], args[i], sizeof(f->args[i]));
	return 0;
}

static int fake_submit(struct vmm *m, struct vlv_job *j)
{
	struct fake *f = (struct fake *)m;

	vm_libvirt_job_free(f->job);
	f->job = j;
	return 0;
}

static void fake_stats(struct vmm *m)
{
}

static const struct vm_ops fake_ops = {
	.submit = fake_submit,
	.zk_send = fake_zk_send,
	.stats_changed = fake_stats,
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strlcpy_pvc(f->cfg.node_name, "hv1", sizeof(f->cfg.node_name));
	f->m.ops = &fake_ops;
	f->m.w = &f->w;
	f->m.cfg = &f->cfg;
	f->m.synced = f->m.listed = 1;
	return f;
}

static void fake_free(struct fake *f)
{
	vm_libvirt_job_free(f->job);
	for (size_t i = 0; i < f->m.nrecs; i++) {
		free(f->m.recs[i]->w_reason);
		free(f->m.recs[i]);
	}
	free(f->m.recs);
	free(f);
}

/* What handle_domain does with a VM_DOMAIN from zk-election. */
static struct vm_rec *fake_domain(struct fake *f, const char *state, long long version)
{
	struct vm_rec *r = vm_record_get(&f->m, "00000001-0000-4000-8000-000000000001");

	assert_non_null(r);
	r->known = 1;
	strlcpy_pvc(r->name, "vm1", sizeof(r->name));
	strlcpy_pvc(r->node, "hv1", sizeof(r->node));
	strlcpy_pvc(r->state, state, sizeof(r->state));
	r->version = version;
	if (version > r->stale_version)
		r->stale_version = -1;
	vm_domain_state_changed(&f->m, r);
	return r;
}

/* The libvirt job in flight ends: rc 0 or -1. */
static void fake_job_done(struct fake *f, struct vm_rec *r, int rc, int lv)
{
	struct vlv_job *j = f->job;

	assert_non_null(j);
	f->job = NULL;
	j->rc = rc;
	j->info.state = lv;
	if (rc)
		strlcpy_pvc(j->err, "test: refused", sizeof(j->err));
	vm_result_job(&f->m, r, j);
	vm_libvirt_job_free(j);
}

/* start@3 fails while the operator writes stop@4, start@5: the `fail` write-back is
 * compare-and-set on 3 (not 5); its failure is dropped and the start@5 served. */
static void test_writeback_failed_start(void **st)
{
	struct fake *f = fake_new();
	struct vm_rec *r = fake_domain(f, "start", 3);

	assert_int_equal(r->act, VA_START);
	assert_int_equal(f->kind, ZK_K_XML);
	vm_result_zk(&f->m, r, ZK_K_XML, 0, "<domain/>");
	assert_int_equal(r->phase, PH_CREATE);
	fake_domain(f, "stop", 4);
	fake_domain(f, "start", 5);
	f->nsent = 0;
	fake_job_done(f, r, -1, LV_ABSENT);
	/* the record already holds a newer command: nothing is written */
	for (int i = 0; i < f->nsent; i++)
		assert_int_not_equal(f->kind, ZK_K_STATE_WRITE);
	/* ...and the newer start is served: a new start reads the XML again */
	assert_int_equal(r->act, VA_START);
	assert_int_equal(f->kind, ZK_K_XML);
	assert_int_equal(r->act_version, 5);
	fake_free(f);
}

/* The newer command has not reached the record yet: the write-back names the
 * served version, a ZBADVERSION drops it, and nothing is decided on the stale
 * value until the newer one arrives. */
static void test_writeback_badversion(void **st)
{
	struct fake *f = fake_new();
	struct vm_rec *r = fake_domain(f, "start", 7);

	vm_result_zk(&f->m, r, ZK_K_XML, 0, "<domain/>");
	fake_job_done(f, r, -1, LV_ABSENT);
	assert_int_equal(f->kind, ZK_K_STATE_WRITE);
	assert_string_equal(f->args[0], "setv:7");
	assert_string_equal(f->args[2], "fail");
	f->nsent = 0;
	vm_result_zk(&f->m, r, ZK_K_STATE_WRITE, IPC_RC_BADVERSION, NULL);
	assert_int_equal(f->nsent, 0); /* no re-read, no second write, no new start */
	assert_int_equal(r->act, VA_NONE);
	assert_string_equal(r->state, "start");
	vm_domain_evaluate(&f->m, r); /* e.g. the periodic listing */
	assert_int_equal(f->nsent, 0);
	fake_domain(f, "start", 9);   /* the watch brings the newer command */
	assert_int_equal(r->act, VA_START);
	assert_int_equal(r->act_version, 9);
	fake_free(f);
}

/* stop@2 is being destroyed while start@3 and stop@4 arrive: the same text, a newer
 * command; no stop is written over stop@4. A success takes act_version + 1. */
static void test_writeback_stop(void **st)
{
	struct fake *f = fake_new();
	struct vm_rec *r;

	r = vm_record_get(&f->m, "00000001-0000-4000-8000-000000000001");
	r->lv = LV_RUNNING;
	r = fake_domain(f, "stop", 2);
	assert_int_equal(r->act, VA_STOP);
	fake_domain(f, "start", 3);
	fake_domain(f, "stop", 4);
	f->nsent = 0;
	fake_job_done(f, r, 0, LV_ABSENT);
	assert_int_equal(f->nsent, 0);
	assert_int_equal(r->act, VA_NONE);
	/* once more without interference: the write names version 4, success -> 5 */
	r->lv = LV_RUNNING;
	fake_domain(f, "stop", 4);
	fake_job_done(f, r, 0, LV_ABSENT);
	assert_int_equal(f->kind, ZK_K_STATE_WRITE);
	assert_string_equal(f->args[0], "setv:4");
	vm_result_zk(&f->m, r, ZK_K_STATE_WRITE, 0, NULL);
	assert_int_equal(r->version, 5);
	assert_string_equal(r->state, "stop");
	fake_free(f);
}

static const char *const all_states[] = {"start", "restart", "shutdown", "stop", "migrate",
					 "disable", "fail", "provision", "delete", "stopped",
					 "unmigrate", NULL};

/* owner, running */
static void test_owner_running(void **st)
{
	assert_int_equal(vm_decide_action(1, 1, "start"), VA_ADOPT);
	assert_int_equal(vm_decide_action(1, 1, "migrate"), VA_ADOPT_WRITE_START);
	assert_int_equal(vm_decide_action(1, 1, "restart"), VA_RESTART);
	assert_int_equal(vm_decide_action(1, 1, "shutdown"), VA_SHUTDOWN);
	assert_int_equal(vm_decide_action(1, 1, "stop"), VA_STOP);
	/* anything else: the VM keeps running */
	assert_int_equal(vm_decide_action(1, 1, "disable"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "fail"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "provision"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "delete"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "stopped"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 1, "unmigrate"), VA_NONE);
}

/* owner, not running */
static void test_owner_stopped(void **st)
{
	assert_int_equal(vm_decide_action(1, 0, "start"), VA_START);
	assert_int_equal(vm_decide_action(1, 0, "migrate"), VA_RECEIVE);
	assert_int_equal(vm_decide_action(1, 0, "restart"), VA_WRITE_START);
	assert_int_equal(vm_decide_action(1, 0, "shutdown"), VA_FORGET);
	assert_int_equal(vm_decide_action(1, 0, "stop"), VA_FORGET);
	assert_int_equal(vm_decide_action(1, 0, "disable"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "fail"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "provision"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "delete"), VA_NONE);
	assert_int_equal(vm_decide_action(1, 0, "stopped"), VA_NONE);
}

/* not owner, running */
static void test_other_running(void **st)
{
	assert_int_equal(vm_decide_action(0, 1, "migrate"), VA_MIGRATE_OUT);
	assert_int_equal(vm_decide_action(0, 1, "shutdown"), VA_SHUTDOWN);
	/* anything else: terminate (destroy without a state write) */
	assert_int_equal(vm_decide_action(0, 1, "start"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "stop"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "restart"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "disable"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "fail"), VA_TERMINATE);
	assert_int_equal(vm_decide_action(0, 1, "delete"), VA_TERMINATE);
}

/* not owner, not running: never anything */
static void test_other_stopped(void **st)
{
	for (int i = 0; all_states[i]; i++)
		assert_int_equal(vm_decide_action(0, 0, all_states[i]), VA_NONE);
}

/* garbage states never cause an action, whatever the rest */
static void test_invalid_states(void **st)
{
	const char *bad[] = {"", "START", "start ", "stopp", "running", "migrate\n", NULL};

	for (int i = 0; bad[i]; i++) {
		assert_false(vm_decide_state_valid(bad[i]));
		for (int o = 0; o < 2; o++)
			for (int r = 0; r < 2; r++)
				assert_int_equal(vm_decide_action(o, r, bad[i]), VA_NONE);
	}
	assert_int_equal(vm_decide_action(1, 1, NULL), VA_NONE);
	for (int i = 0; all_states[i]; i++)
		assert_true(vm_decide_state_valid(all_states[i]));
}

static void test_console_last_lines(void **st)
{
	const char in[] = "one\ntwo\nthree\nfour\n";
	size_t n;
	char *out = vm_console_tail(in, strlen(in), 0, 2, &n);

	assert_non_null(out);
	assert_string_equal(out, "three\nfour\n");
	assert_int_equal(n, strlen("three\nfour\n"));
	free(out);
	/* fewer lines than asked: everything */
	out = vm_console_tail(in, strlen(in), 0, 100, &n);
	assert_string_equal(out, in);
	free(out);
	/* unterminated last line counts as a line */
	out = vm_console_tail("a\nb\nc", 5, 0, 2, &n);
	assert_string_equal(out, "b\nc");
	free(out);
	/* a read that began mid-file drops the partial first line */
	out = vm_console_tail("tial\nwhole\n", 11, 1, 10, &n);
	assert_string_equal(out, "whole\n");
	free(out);
}

static void test_console_invalid_utf8(void **st)
{
	/* invalid byte, truncated sequence, overlong, surrogate, NUL, valid 2/3/4-byte */
	const char in[] = "a\xff" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\0f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";
	size_t n;
	char *out = vm_console_tail(in, sizeof(in) - 1, 0, 5, &n);
	const char want[] = "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
			    "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd"
			    "f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\n";

	assert_non_null(out);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	assert_null(memchr(out, '\0', n));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_running),
		cmocka_unit_test(test_owner_stopped),
		cmocka_unit_test(test_other_running),
		cmocka_unit_test(test_other_stopped),
		cmocka_unit_test(test_invalid_states),
		cmocka_unit_test(test_console_last_lines),
		cmocka_unit_test(test_writeback_failed_start),
		cmocka_unit_test(test_writeback_badversion),
		cmocka_unit_test(test_writeback_stop),
		cmocka_unit_test(test_console_invalid_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
