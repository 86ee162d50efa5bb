/*
 * pvcctl: the operator tool. It talks only to the local pvcnoded through its control
 * socket (<dynamic_directory>/pvcnoded.sock, root only), with the same framing as the
 * workers and sender ROLE_CTL: `status` is answered by the supervisor, everything else
 * is a ZooKeeper request served by zk-election under the ctl path policy. There is no
 * second ZooKeeper client here on purpose: one node, one session, one policy.
 *
 * Exit status: 0 done, 1 failure (refused, timed out, daemon unreachable), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "pvc.h"

#define EXIT_USAGE 2
#define REPLY_TIMEOUT_MS 10000
#define WAIT_POLL_MS 500
#define DEFAULT_WAIT_S 1800

struct ctl {
	struct ipc_chan chan;
	int json;
	unsigned long next_req;
	char node[CFG_NAME_MAX];   /* the local node (default NODE) */
	struct pvc_config cfg;
	int have_cfg;
};

struct reply {
	struct ipc_strv sv; /* [reqid, rc, ...] */
	int rc;
};

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("pvcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fputs("usage: pvcctl [-c CONFIG] [-s SOCKET] [--json] COMMAND\n"
	      "  status\n"
	      "  node list\n"
	      "  node flush [--wait] [--timeout S] [NODE]\n"
	      "  node unflush|ready [--wait] [--timeout S] [NODE]\n"
	      "  node primary NODE\n"
	      "  node secondary NODE\n"
	      "  vm list\n",
	      stderr);
	exit(EXIT_USAGE);
}

/* ---- JSON and text output ------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Print rows of `ncol` strings as an aligned table (text) or an array of objects. */
static void table(struct ctl *c, const char *const *head, int ncol, char ***rows, size_t nrows)
{
	size_t w[16] = {0};

	if (c->json) {
		putchar('[');
		for (size_t r = 0; r < nrows; r++) {
			printf("%s{", r ? "," : "");
			for (int k = 0; k < ncol; k++) {
				printf("%s", k ? "," : "");
				json_str(head[k]);
				putchar(':');
				json_str(rows[r][k]);
			}
			putchar('}');
		}
		puts("]");
		return;
	}
	for (int k = 0; k < ncol; k++)
		w[k] = strlen(head[k]);
	for (size_t r = 0; r < nrows; r++)
		for (int k = 0; k < ncol; k++)
			if (strlen(rows[r][k]) > w[k])
				w[k] = strlen(rows[r][k]);
	for (int k = 0; k < ncol; k++)
		printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, head[k], k + 1 < ncol ? "  " : "\n");
	for (size_t r = 0; r < nrows; r++)
		for (int k = 0; k < ncol; k++)
			printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, rows[r][k],
			       k + 1 < ncol ? "  " : "\n");
}

/* ---- the control socket -------------------------------------------------------- */

static void ctl_connect(struct ctl *c, const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die(1, "control socket path too long: %s", path);
	strlcpy_pvc(sa.sun_path, path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die(1, "cannot reach pvcnoded at %s: %s", path, strerror(errno));
	if (set_nonblock(fd) != 0)
		die(1, "fcntl: %s", strerror(errno));
	ipc_chan_init(&c->chan, fd, ROLE_CTL);
}

static void ctl_send(struct ctl *c, uint32_t type, enum pvc_role dest, const char *const *v,
		     uint32_t n)
{
	int rc = n ? ipc_send_strv(&c->chan, type, dest, v, n)
		   : ipc_send(&c->chan, type, dest, NULL, 0, -1);

	if (rc != 0 || ipc_chan_flush_wait(&c->chan, REPLY_TIMEOUT_MS) != 0)
		die(1, "cannot send to pvcnoded: %s", strerror(errno));
}

/* Wait for the frame of `type` (and, for ZK replies, our reqid). */
static void ctl_recv(struct ctl *c, uint32_t type, const char *reqid, struct reply *out)
{
	uint64_t deadline = mono_ms() + REPLY_TIMEOUT_MS;

	for (;;) {
		struct ipc_msg msg;
		const char *err = NULL;
		uint64_t now = mono_ms();
		long long rc = 0;

		if (now >= deadline)
			die(1, "no answer from pvcnoded within %d s", REPLY_TIMEOUT_MS / 1000);
		if (ipc_chan_recv_wait(&c->chan, &msg, (int)(deadline - now)) != 0)
			die(1, "connection to pvcnoded lost: %s",
			    errno ? strerror(errno) : "closed");
		if (msg.hdr.type != type ||
		    ipc_strv_decode(msg.data, msg.hdr.len, &out->sv, &err) != 0) {
			ipc_msg_free(&msg);
			continue;
		}
		ipc_msg_free(&msg);
		if (reqid == NULL)
			return;
		if (out->sv.n >= 2 && strcmp(out->sv.v[0], reqid) == 0 &&
		    parse_ll(out->sv.v[1], -100000, 100000, &rc) == 0) {
			out->rc = (int)rc;
			return;
		}
		ipc_strv_free(&out->sv);
	}
}

static const char *rc_text(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case -101: return "no such key";
	case -103: return "changed meanwhile (version mismatch)";
	case -110: return "already exists";
	case -1000: return "refused by the daemon's policy";
	case -1001: return "ZooKeeper is not connected";
	default: return "ZooKeeper error";
	}
}

/* One request, one reply; the caller frees r->sv. */
static int zk_req(struct ctl *c, uint32_t type, const char *const *args, uint32_t n,
		  struct reply *r)
{
	const char *v[16];
	char reqid[32];

	snprintf(reqid, sizeof(reqid), "c%lu", ++c->next_req);
	v[0] = reqid;
	for (uint32_t i = 0; i < n && i < 15; i++)
		v[i + 1] = args[i];
	ctl_send(c, type, ROLE_ZK, v, n + 1);
	ctl_recv(c, MSG_ZK_REPLY, reqid, r);
	if (r->rc == -1001)
		die(1, "ZooKeeper is not connected on this node");
	if (r->rc == 0 && type == MSG_ZK_GET && r->sv.n != 4)
		die(1, "malformed reply from pvcnoded");
	return r->rc;
}

/* GET into a malloc'd string (NULL if missing); version into *ver if not NULL. */
static char *zk_get(struct ctl *c, long long *ver, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static char *zk_get(struct ctl *c, long long *ver, const char *fmt, ...)
{
	char path[256];
	const char *p = path;
	struct reply r;
	char *val = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (zk_req(c, MSG_ZK_GET, &p, 1, &r) == 0) {
		val = strdup(r.sv.v[2]);
		if (val == NULL)
			die(1, "out of memory");
		if (ver && parse_ll(r.sv.v[3], 0, INT32_MAX, ver) != 0)
			die(1, "malformed version in a reply");
	} else if (r.rc != -101) {
		die(1, "reading %s: %s (rc %d)", path, rc_text(r.rc), r.rc);
	}
	ipc_strv_free(&r.sv);
	return val;
}

/* /<base>/<name>/<key> or a default when missing. */
static char *kget(struct ctl *c, const char *base, const char *name, const char *key,
		  const char *dflt)
{
	char *v = zk_get(c, NULL, "/%s/%s/%s", base, name, key);

	if (v == NULL && (v = strdup(dflt)) == NULL)
		die(1, "out of memory");
	return v;
}

static void zk_children(struct ctl *c, const char *path, struct reply *r)
{
	if (zk_req(c, MSG_ZK_CHILDREN, &path, 1, r) != 0)
		die(1, "listing %s: %s (rc %d)", path, rc_text(r->rc), r->rc);
}

static int zk_write1(struct ctl *c, const char *op, const char *path, const char *value)
{
	const char *v[3] = {op, path, value};
	struct reply r;
	int rc = zk_req(c, MSG_ZK_WRITE, v, 3, &r);

	ipc_strv_free(&r.sv);
	return rc;
}

/* ---- status -------------------------------------------------------------------- */

static int cmd_status(struct ctl *c)
{
	struct reply r;
	static const char *const head[] = {"WORKER", "PID", "STATE", "UPTIME_S", "RESTARTS"};
	static const char *const roles[] = {"zk-election", "vm-manager", "net-router", "flush"};
	char **rows[4], *cells[4][5];
	size_t w = 0;

	ctl_send(c, MSG_CTL_STATUS, ROLE_SUPERVISOR, NULL, 0);
	ctl_recv(c, MSG_CTL_REPLY, NULL, &r);
	if (c->json) {
		putchar('{');
		for (uint32_t i = 0; i < r.sv.n; i++) {
			char *eq = strchr(r.sv.v[i], '=');
			if (eq == NULL)
				continue;
			*eq = '\0';
			printf("%s", i ? "," : "");
			json_str(r.sv.v[i]);
			putchar(':');
			json_str(eq + 1);
		}
		puts("}");
		ipc_strv_free(&r.sv);
		return 0;
	}
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
	table(c, head, 5, rows, 4);
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

static int cmd_node_list(struct ctl *c)
{
	static const char *const head[] = {"NODE", "DAEMON", "ROUTER", "DOMAIN", "VMS",
					   "MEMFREE", "MEMALLOC", "LOAD", "VCPUS"};
	static const char *const keys[] = {NULL, "daemonstate", "routerstate", "domainstate",
					   "domainscount", "memfree", "memalloc", "cpuload",
					   "vcpualloc"};
	struct reply r;
	char ***rows;
	size_t n = 0;

	zk_children(c, "/nodes", &r);
	rows = calloc(r.sv.n, sizeof(*rows));
	if (rows == NULL)
		die(1, "out of memory");
	for (uint32_t i = 2; i < r.sv.n; i++) {
		if (!valid_node_name(r.sv.v[i]))
			continue;
		rows[n] = calloc(9, sizeof(char *));
		if (rows[n] == NULL || (rows[n][0] = strdup(r.sv.v[i])) == NULL)
			die(1, "out of memory");
		for (int k = 1; k < 9; k++)
			rows[n][k] = kget(c, "nodes", r.sv.v[i], keys[k], "-");
		n++;
	}
	table(c, head, 9, rows, n);
	free_rows(rows, n, 9);
	ipc_strv_free(&r.sv);
	return 0;
}

static int cmd_vm_list(struct ctl *c)
{
	static const char *const head[] = {"UUID", "NAME", "STATE", "NODE", "LASTNODE"};
	struct reply r;
	char ***rows;
	size_t n = 0;

	zk_children(c, "/domains", &r);
	rows = calloc(r.sv.n, sizeof(*rows));
	if (rows == NULL)
		die(1, "out of memory");
	for (uint32_t i = 2; i < r.sv.n; i++) {
		const char *u = r.sv.v[i];
		if (!valid_uuid(u))
			continue;
		rows[n] = calloc(5, sizeof(char *));
		if (rows[n] == NULL || (rows[n][0] = strdup(u)) == NULL)
			die(1, "out of memory");
		rows[n][1] = zk_get(c, NULL, "/domains/%s", u);
		if (rows[n][1] == NULL && (rows[n][1] = strdup("-")) == NULL)
			die(1, "out of memory");
		rows[n][2] = kget(c, "domains", u, "state", "-");
		rows[n][3] = kget(c, "domains", u, "node", "-");
		rows[n][4] = kget(c, "domains", u, "lastnode", "");
		n++;
	}
	table(c, head, 5, rows, n);
	free_rows(rows, n, 5);
	ipc_strv_free(&r.sv);
	return 0;
}

/* ---- flush / unflush ----------------------------------------------------------- */

struct progress {
	int total, moved;
	char inflight[512];
};

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
	char *running = kget(c, "nodes", node, "runningdomains", "");
	char *save = NULL;
	int left = count_words(running);

	pr->moved = pr->total > left ? pr->total - left : 0;
	pr->inflight[0] = '\0';
	for (char *u = strtok_r(running, " ", &save); u; u = strtok_r(NULL, " ", &save)) {
		char *st;
		if (!valid_uuid(u))
			continue;
		st = kget(c, "domains", u, "state", "");
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

	zk_children(c, "/domains", &r);
	if (pr)
		pr->inflight[0] = '\0';
	for (uint32_t i = 2; i < r.sv.n; i++) {
		const char *u = r.sv.v[i];
		char *last, *st, *nd;
		if (!valid_uuid(u))
			continue;
		last = kget(c, "domains", u, "lastnode", "");
		left += strcmp(last, node) == 0;
		if (pr) {
			st = kget(c, "domains", u, "state", "");
			nd = kget(c, "domains", u, "node", "");
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

static void print_progress(struct ctl *c, const char *action, const char *node,
			   const struct progress *pr)
{
	if (c->json) {
		printf("{\"action\":\"%s\",\"node\":", action);
		json_str(node);
		printf(",\"moved\":%d,\"total\":%d,\"in_flight\":", pr->moved, pr->total);
		json_str(pr->inflight);
		puts("}");
	} else {
		printf("%s %s: %d/%d VMs moved, in flight: %s\n", action, node, pr->moved, pr->total,
		       pr->inflight[0] ? pr->inflight : "-");
	}
	fflush(stdout);
}

static int finish(struct ctl *c, const char *action, const char *node, int code,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int finish(struct ctl *c, const char *action, const char *node, int code,
		  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		printf("{\"action\":\"%s\",\"node\":", action);
		json_str(node);
		printf(",\"result\":\"%s\",\"message\":", code == 0 ? "ok" : "failed");
		json_str(msg);
		puts("}");
	} else if (code == 0) {
		printf("%s %s: %s\n", action, node, msg);
	} else {
		fprintf(stderr, "pvcctl: %s %s: %s\n", action, node, msg);
	}
	return code;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmd_domainstate(struct ctl *c, int flush, const char *node, int wait, long timeout_s)
{
	const char *action = flush ? "flush" : "unflush";
	const char *goal = flush ? "flushed" : "ready";
	char path[128], *ds;
	struct progress pr = {0}, last = {.moved = -1};
	uint64_t deadline = mono_ms() + (uint64_t)timeout_s * 1000;
	int rc;

	ds = kget(c, "nodes", node, "domainstate", "");
	if (ds[0] == '\0') {
		free(ds);
		return finish(c, action, node, 1, "refused: no such node");
	}
	if (strcmp(ds, goal) == 0) {
		free(ds);
		return finish(c, action, node, 0, "already %s", goal);
	}
	if (flush) {
		char *running = kget(c, "nodes", node, "runningdomains", "");
		pr.total = count_words(running);
		free(running);
	} else {
		pr.total = unflush_remaining(c, node, NULL);
	}
	snprintf(path, sizeof(path), "/nodes/%s/domainstate", node);
	/* rewriting the same request is harmless: the worker carries on */
	rc = zk_write1(c, "set", path, action);
	free(ds);
	if (rc != 0)
		return finish(c, action, node, 1, "refused: %s (rc %d)", rc_text(rc), rc);
	if (!wait)
		return finish(c, action, node, 0, "requested");
	for (;;) {
		ds = kget(c, "nodes", node, "domainstate", "");
		if (flush)
			flush_progress(c, node, &pr);
		else
			pr.moved = pr.total - unflush_remaining(c, node, &pr);
		if (pr.moved < 0)
			pr.moved = 0;
		if (pr.moved != last.moved || strcmp(pr.inflight, last.inflight) != 0) {
			print_progress(c, action, node, &pr);
			last = pr;
		}
		if (strcmp(ds, goal) == 0) {
			free(ds);
			return finish(c, action, node, 0, "done: domainstate %s", goal);
		}
		if (strcmp(ds, action) != 0) {
			rc = finish(c, action, node, 1, "cancelled: domainstate changed to %s", ds);
			free(ds);
			return rc;
		}
		free(ds);
		if (mono_ms() >= deadline)
			return finish(c, action, node, 1,
				      "timed out after %ld s: domainstate still %s (%d/%d VMs moved)",
				      timeout_s, action, pr.moved, pr.total);
		sleep_ms(WAIT_POLL_MS);
	}
}

/* ---- primary / secondary ------------------------------------------------------- */

static int cmd_primary(struct ctl *c, const char *node)
{
	char *mode = kget(c, "nodes", node, "daemonmode", "");
	char *ds = kget(c, "nodes", node, "daemonstate", "");
	char *rs = kget(c, "nodes", node, "routerstate", "");
	long long ver = 0;
	char *cur = zk_get(c, &ver, "/primary_node");
	char setv[32];
	int rc;

	if (ds[0] == '\0')
		rc = finish(c, "primary", node, 1, "refused: no such node");
	else if (strcmp(mode, "coordinator") != 0)
		rc = finish(c, "primary", node, 1, "refused: not a coordinator (mode %s)", mode);
	else if (strcmp(ds, "run") != 0)
		rc = finish(c, "primary", node, 1, "refused: daemon state is %s, not run", ds);
	else if (cur && strcmp(cur, node) == 0)
		rc = finish(c, "primary", node, 0, "already primary");
	else if (strcmp(rs, "secondary") != 0)
		rc = finish(c, "primary", node, 1, "refused: router state is %s, not secondary", rs);
	else {
		snprintf(setv, sizeof(setv), "setv:%lld", ver);
		/* CAS: do not overwrite a contention result that landed meanwhile */
		rc = zk_write1(c, cur ? setv : "set", "/primary_node", node);
		rc = rc == 0 ? finish(c, "primary", node, 0, "requested")
			     : finish(c, "primary", node, 1, "refused: %s (rc %d)", rc_text(rc), rc);
	}
	free(mode);
	free(ds);
	free(rs);
	free(cur);
	return rc;
}

static int cmd_secondary(struct ctl *c, const char *node)
{
	long long ver = 0;
	char *cur = zk_get(c, &ver, "/primary_node");
	char setv[32];
	int rc;

	if (cur == NULL || strcmp(cur, node) != 0) {
		rc = finish(c, "secondary", node, 1, "refused: %s is not the primary (primary: %s)",
			    node, cur ? cur : "unknown");
	} else {
		snprintf(setv, sizeof(setv), "setv:%lld", ver);
		rc = zk_write1(c, setv, "/primary_node", "none");
		rc = rc == 0 ? finish(c, "secondary", node, 0, "requested")
			     : finish(c, "secondary", node, 1, "refused: %s (rc %d)", rc_text(rc), rc);
	}
	free(cur);
	return rc;
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct ctl c;
	const char *cfgpath = NULL, *sock = NULL, *cmd, *sub = NULL, *node = NULL;
	char sockbuf[CFG_PATH_MAX + 32], err[512];
	int opt, wait = 0, rest = 0;
	long long timeout = DEFAULT_WAIT_S;

	while ((opt = getopt_long(argc, argv, "+c:s:jh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfgpath = optarg; break;
		case 's': sock = optarg; break;
		case 'j': c.json = 1; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind++];
	if (strcmp(cmd, "node") == 0 || strcmp(cmd, "vm") == 0) {
		if (optind >= argc)
			usage();
		sub = argv[optind++];
	}
	for (; optind < argc; optind++) {
		const char *a = argv[optind];
		if (strcmp(a, "--wait") == 0) {
			wait = 1;
		} else if (strcmp(a, "--json") == 0) {
			c.json = 1;
		} else if (strcmp(a, "--timeout") == 0) {
			if (++optind >= argc || parse_ll(argv[optind], 1, 604800, &timeout) != 0)
				die(EXIT_USAGE, "--timeout needs a number of seconds (1..604800)");
		} else if (a[0] == '-') {
			usage();
		} else if (node == NULL) {
			node = a;
			rest++;
		} else {
			usage();
		}
	}

	/* The config tells where the socket is and which node is "here". */
	if (config_load(config_default_path(cfgpath), NULL, &c.cfg, err, sizeof(err)) == 0) {
		c.have_cfg = 1;
		strlcpy_pvc(c.node, c.cfg.node_name, sizeof(c.node));
	} else if (sock == NULL || cfgpath != NULL) {
		die(1, "%s", err);
	}
	if (sock == NULL) {
		snprintf(sockbuf, sizeof(sockbuf), "%s/pvcnoded.sock", c.cfg.dynamic_directory);
		sock = sockbuf;
	}
	if (node == NULL)
		node = c.node[0] ? c.node : NULL;
	if (node && !valid_node_name(node))
		die(EXIT_USAGE, "invalid node name \"%s\"", node);

	if (strcmp(cmd, "status") == 0 && sub == NULL && rest == 0 && !wait) {
		ctl_connect(&c, sock);
		return cmd_status(&c);
	}
	if (sub == NULL)
		usage();
	if (strcmp(cmd, "vm") == 0) {
		if (strcmp(sub, "list") != 0 || rest || wait)
			usage();
		ctl_connect(&c, sock);
		return cmd_vm_list(&c);
	}
	if (strcmp(sub, "list") == 0 && !rest && !wait) {
		ctl_connect(&c, sock);
		return cmd_node_list(&c);
	}
	if (node == NULL)
		die(EXIT_USAGE, "no NODE given and no node name in the configuration");
	if (strcmp(sub, "flush") == 0 || strcmp(sub, "unflush") == 0 || strcmp(sub, "ready") == 0) {
		ctl_connect(&c, sock);
		return cmd_domainstate(&c, strcmp(sub, "flush") == 0, node, wait, (long)timeout);
	}
	if ((strcmp(sub, "primary") == 0 || strcmp(sub, "secondary") == 0) && rest == 1 && !wait) {
		ctl_connect(&c, sock);
		return strcmp(sub, "primary") == 0 ? cmd_primary(&c, node) : cmd_secondary(&c, node);
	}
	usage();
}
