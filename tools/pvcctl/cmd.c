/*
 * cmd.c: pvcctl's commands: status, node and VM lists, flush/unflush (with --wait
 * progress), primary/secondary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvcctl.h"

#define WAIT_POLL_MS 500

/* ---- status -------------------------------------------------------------------- */

int pvcctl_cmd_status(struct ctl *c)
{
	struct reply r;
	static const char *const head[] = {"WORKER", "PID", "STATE", "UPTIME_S", "RESTARTS"};
	static const char *const roles[] = {"zk-election", "vm-manager", "net-router", "flush"};
	char **rows[4], *cells[4][5];
	size_t w = 0;

	pvcctl_chan_send(c, MSG_CTL_STATUS, ROLE_SUPERVISOR, NULL, 0);
	pvcctl_chan_recv(c, MSG_CTL_REPLY, &r);
	if (c->json) {
		putchar('{');
		for (uint32_t i = 0; i < r.sv.n; i++) {
			char *eq = strchr(r.sv.v[i], '=');
			if (eq == NULL)
				continue;
			*eq = '\0';
			printf("%s", i ? "," : "");
			pvcctl_out_json(r.sv.v[i]);
			putchar(':');
			pvcctl_out_json(eq + 1);
		}
		puts("}");
		ipc_strv_free(&r.sv);
		return 0;
	}
	/* the workers' status lines are theirs: a compromised one must not drive the
	 * operator's terminal */
	pvcctl_out_clean_strv(&r.sv);
	/* header lines first, then one table row per worker, then the workers' own keys */
	for (uint32_t i = 0; i < r.sv.n; i++)
		if (strncmp(r.sv.v[i], "worker.", 7) != 0 && strchr(r.sv.v[i], '=') &&
		    (size_t)(strchr(r.sv.v[i], '=') - r.sv.v[i]) > w)
			w = (size_t)(strchr(r.sv.v[i], '=') - r.sv.v[i]);
	for (int k = 0; k < 4; k++) {
		const char *keys[5] = {NULL, "pid", "state", "uptime_s", "restarts"};
		cells[k][0] = (char *)roles[k];
		for (int f = 1; f < 5; f++) {
			char want[64];
			size_t wl = (size_t)snprintf(want, sizeof(want), "worker.%s.%s=", roles[k], keys[f]);
			cells[k][f] = (char *)"-";
			for (uint32_t i = 0; i < r.sv.n; i++)
				if (strncmp(r.sv.v[i], want, wl) == 0)
					cells[k][f] = r.sv.v[i] + wl;
		}
		rows[k] = cells[k];
	}
	for (uint32_t i = 0; i < r.sv.n; i++) {
		char *eq = strchr(r.sv.v[i], '=');
		int is_role = 0;
		if (eq == NULL || strncmp(r.sv.v[i], "worker.", 7) == 0)
			continue;
		for (int k = 0; k < 4; k++)
			is_role |= strncmp(r.sv.v[i], roles[k], strlen(roles[k])) == 0 &&
				   r.sv.v[i][strlen(roles[k])] == '.';
		if (!is_role)
			printf("%-*.*s  %s\n", (int)w, (int)(eq - r.sv.v[i]), r.sv.v[i], eq + 1);
	}
	putchar('\n');
	pvcctl_out_table(c, head, 5, rows, 4);
	putchar('\n');
	for (uint32_t i = 0; i < r.sv.n; i++) {
		char *eq = strchr(r.sv.v[i], '=');
		for (int k = 0; eq && k < 4; k++)
			if (strncmp(r.sv.v[i], roles[k], strlen(roles[k])) == 0 &&
			    r.sv.v[i][strlen(roles[k])] == '.')
				printf("%-*.*s  %s\n", (int)w > 28 ? (int)w : 28, (int)(eq - r.sv.v[i]),
				       r.sv.v[i], eq + 1);
	}
	ipc_strv_free(&r.sv);
	return 0;
}


/* ---- lists --------------------------------------------------------------------- */

static void free_rows(char ***rows, size_t n, int ncol)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < ncol; k++)
			free(rows[i][k]);
		free(rows[i]);
	}
	free(rows);
}

int pvcctl_cmd_node_list(struct ctl *c)
{
	static const char *const head[] = {"NODE", "DAEMON", "ROUTER", "DOMAIN", "VMS",
					   "MEMFREE", "MEMALLOC", "LOAD", "VCPUS"};
	static const char *const keys[] = {NULL, "daemonstate", "routerstate", "domainstate",
					   "domainscount", "memfree", "memalloc", "cpuload",
					   "vcpualloc"};
	struct reply r;
	char ***rows;
	size_t n = 0;

	pvcctl_zk_children(c, "/nodes", &r);
	rows = calloc(r.sv.n, sizeof(*rows));
	if (rows == NULL)
		pvcctl_out_die(1, "out of memory");
	for (uint32_t i = 2; i < r.sv.n; i++) {
		if (!valid_node_name(r.sv.v[i]))
			continue;
		rows[n] = calloc(9, sizeof(char *));
		if (rows[n] == NULL || (rows[n][0] = strdup(r.sv.v[i])) == NULL)
			pvcctl_out_die(1, "out of memory");
		for (int k = 1; k < 9; k++)
			rows[n][k] = pvcctl_zk_kget(c, "nodes", r.sv.v[i], keys[k], "-");
		n++;
	}
	pvcctl_out_table(c, head, 9, rows, n);
	free_rows(rows, n, 9);
	ipc_strv_free(&r.sv);
	return 0;
}

int pvcctl_cmd_vm_list(struct ctl *c)
{
	static const char *const head[] = {"UUID", "NAME", "STATE", "NODE", "LASTNODE"};
	struct reply r;
	char ***rows;
	size_t n = 0;

	pvcctl_zk_children(c, "/domains", &r);
	rows = calloc(r.sv.n, sizeof(*rows));
	if (rows == NULL)
		pvcctl_out_die(1, "out of memory");
	for (uint32_t i = 2; i < r.sv.n; i++) {
		const char *u = r.sv.v[i];
		if (!valid_uuid(u))
			continue;
		rows[n] = calloc(5, sizeof(char *));
		if (rows[n] == NULL || (rows[n][0] = strdup(u)) == NULL)
			pvcctl_out_die(1, "out of memory");
		rows[n][1] = pvcctl_zk_get(c, NULL, "/domains/%s", u);
		if (rows[n][1] == NULL && (rows[n][1] = strdup("-")) == NULL)
			pvcctl_out_die(1, "out of memory");
		rows[n][2] = pvcctl_zk_kget(c, "domains", u, "state", "-");
		rows[n][3] = pvcctl_zk_kget(c, "domains", u, "node", "-");
		rows[n][4] = pvcctl_zk_kget(c, "domains", u, "lastnode", "");
		n++;
	}
	pvcctl_out_table(c, head, 5, rows, n);
	free_rows(rows, n, 5);
	ipc_strv_free(&r.sv);
	return 0;
}


/* ---- flush / unflush ----------------------------------------------------------- */

static int count_words(const char *s)
{
	int n = 0;

	for (const char *p = s; p && *p;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static void add_inflight(struct progress *pr, const char *u)
{
	size_t l = strlen(pr->inflight);

	if (l + strlen(u) + 3 < sizeof(pr->inflight))
		snprintf(pr->inflight + l, sizeof(pr->inflight) - l, "%s%s", l ? " " : "", u);
}

/* flush: progress is how far runningdomains has shrunk; in flight = VMs still listed
 * here whose state is migrate or shutdown. */
static void flush_progress(struct ctl *c, const char *node, struct progress *pr)
{
	char *running = pvcctl_zk_kget(c, "nodes", node, "runningdomains", "");
	char *save = NULL;
	int left = count_words(running);

	pr->moved = pr->total > left ? pr->total - left : 0;
	pr->inflight[0] = '\0';
	for (char *u = strtok_r(running, " ", &save); u; u = strtok_r(NULL, " ", &save)) {
		char *st;
		if (!valid_uuid(u))
			continue;
		st = pvcctl_zk_kget(c, "domains", u, "state", "");
		if (strcmp(st, "migrate") == 0 || strcmp(st, "shutdown") == 0)
			add_inflight(pr, u);
		free(st);
	}
	free(running);
}

/* unflush: VMs whose lastnode is this node are still away; in flight = VMs moving
 * here (state migrate, node = this node). */
static int unflush_remaining(struct ctl *c, const char *node, struct progress *pr)
{
	struct reply r;
	int left = 0;

	pvcctl_zk_children(c, "/domains", &r);
	if (pr)
		pr->inflight[0] = '\0';
	for (uint32_t i = 2; i < r.sv.n; i++) {
		const char *u = r.sv.v[i];
		char *last, *st, *nd;
		if (!valid_uuid(u))
			continue;
		last = pvcctl_zk_kget(c, "domains", u, "lastnode", "");
		left += strcmp(last, node) == 0;
		if (pr) {
			st = pvcctl_zk_kget(c, "domains", u, "state", "");
			nd = pvcctl_zk_kget(c, "domains", u, "node", "");
			if (strcmp(st, "migrate") == 0 && strcmp(nd, node) == 0)
				add_inflight(pr, u);
			free(st);
			free(nd);
		}
		free(last);
	}
	ipc_strv_free(&r.sv);
	return left;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int pvcctl_cmd_domainstate(struct ctl *c, int flush, const char *node, int wait, long timeout_s)
{
	const char *action = flush ? "flush" : "unflush";
	const char *goal = flush ? "flushed" : "ready";
	char path[128], *ds;
	struct progress pr = {0}, last = {.moved = -1};
	uint64_t deadline = mono_ms() + (uint64_t)timeout_s * 1000;
	int rc;

	ds = pvcctl_zk_kget(c, "nodes", node, "domainstate", "");
	if (ds[0] == '\0') {
		free(ds);
		return pvcctl_out_finish(c, action, node, 1, "refused: no such node");
	}
	if (strcmp(ds, goal) == 0) {
		free(ds);
		return pvcctl_out_finish(c, action, node, 0, "already %s", goal);
	}
	if (flush) {
		char *running = pvcctl_zk_kget(c, "nodes", node, "runningdomains", "");
		pr.total = count_words(running);
		free(running);
	} else {
		pr.total = unflush_remaining(c, node, NULL);
	}
	snprintf(path, sizeof(path), "/nodes/%s/domainstate", node);
	/* rewriting the same request is harmless: the worker carries on */
	rc = pvcctl_zk_write1(c, "set", path, action);
	free(ds);
	if (rc != 0)
		return pvcctl_out_finish(c, action, node, 1, "refused: %s (rc %d)", pvcctl_zk_rc_text(rc), rc);
	if (!wait)
		return pvcctl_out_finish(c, action, node, 0, "requested");
	for (;;) {
		ds = pvcctl_zk_kget(c, "nodes", node, "domainstate", "");
		if (flush)
			flush_progress(c, node, &pr);
		else
			pr.moved = pr.total - unflush_remaining(c, node, &pr);
		if (pr.moved < 0)
			pr.moved = 0;
		if (pr.moved != last.moved || strcmp(pr.inflight, last.inflight) != 0) {
			pvcctl_out_progress(c, action, node, &pr);
			last = pr;
		}
		if (strcmp(ds, goal) == 0) {
			free(ds);
			return pvcctl_out_finish(c, action, node, 0, "done: domainstate %s", goal);
		}
		if (strcmp(ds, action) != 0) {
			rc = pvcctl_out_finish(c, action, node, 1, "cancelled: domainstate changed to %s", ds);
			free(ds);
			return rc;
		}
		free(ds);
		if (mono_ms() >= deadline)
			return pvcctl_out_finish(c, action, node, 1,
						 "timed out after %ld s: domainstate still %s (%d/%d VMs moved)",
						 timeout_s, action, pr.moved, pr.total);
		sleep_ms(WAIT_POLL_MS);
	}
}


/* ---- primary / secondary ------------------------------------------------------- */

int pvcctl_cmd_primary(struct ctl *c, const char *node)
{
	char *mode = pvcctl_zk_kget(c, "nodes", node, "daemonmode", "");
	char *ds = pvcctl_zk_kget(c, "nodes", node, "daemonstate", "");
	char *rs = pvcctl_zk_kget(c, "nodes", node, "routerstate", "");
	long long ver = 0;
	char *cur = pvcctl_zk_get(c, &ver, "/primary_node");
	char setv[32];
	int rc;

	if (ds[0] == '\0')
		rc = pvcctl_out_finish(c, "primary", node, 1, "refused: no such node");
	else if (strcmp(mode, "coordinator") != 0)
		rc = pvcctl_out_finish(c, "primary", node, 1, "refused: not a coordinator (mode %s)", mode);
	else if (strcmp(ds, "run") != 0)
		rc = pvcctl_out_finish(c, "primary", node, 1, "refused: daemon state is %s, not run", ds);
	else if (cur && strcmp(cur, node) == 0)
		rc = pvcctl_out_finish(c, "primary", node, 0, "already primary");
	else if (strcmp(rs, "secondary") != 0)
		rc = pvcctl_out_finish(c, "primary", node, 1,
				       "refused: router state is %s, not secondary", rs);
	else {
		snprintf(setv, sizeof(setv), "setv:%lld", ver);
		/* CAS: do not overwrite a contention result that landed meanwhile */
		rc = pvcctl_zk_write1(c, cur ? setv : "set", "/primary_node", node);
		rc = rc == 0 ? pvcctl_out_finish(c, "primary", node, 0, "requested")
			     : pvcctl_out_finish(c, "primary", node, 1, "refused: %s (rc %d)",
						 pvcctl_zk_rc_text(rc), rc);
	}
	free(mode);
	free(ds);
	free(rs);
	free(cur);
	return rc;
}

int pvcctl_cmd_secondary(struct ctl *c, const char *node)
{
	long long ver = 0;
	char *cur = pvcctl_zk_get(c, &ver, "/primary_node");
	char setv[32];
	int rc;

	if (cur == NULL || strcmp(cur, node) != 0) {
		rc = pvcctl_out_finish(c, "secondary", node, 1,
				       "refused: %s is not the primary (primary: %s)", node,
				       cur ? cur : "unknown");
	} else {
		snprintf(setv, sizeof(setv), "setv:%lld", ver);
		rc = pvcctl_zk_write1(c, setv, "/primary_node", "none");
		rc = rc == 0 ? pvcctl_out_finish(c, "secondary", node, 0, "requested")
			     : pvcctl_out_finish(c, "secondary", node, 1, "refused: %s (rc %d)",
						 pvcctl_zk_rc_text(rc), rc);
	}
	free(cur);
	return rc;
}
