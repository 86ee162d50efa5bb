/*
 * relay.c: the ZooKeeper state other workers need (VM states for vm-manager,
 * our domainstate for flush) and the validated request API they use (DESIGN §2.2).
 * Everything read here is untrusted: validated, logged and dropped when malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "zk_internal.h"


/* ---- VM domains --------------------------------------------------------------- */

enum dfield { DF_STATE, DF_NAME, DF_NODE, DF_LASTNODE };

struct dom_read {
	struct zk_ctx *z;
	char uuid[37];
	enum dfield field;
};

static struct zk_domain *dom_find(struct zk_ctx *z, const char *uuid)
{
	for (int i = 0; i < z->ndoms; i++)
		if (strcmp(z->doms[i].uuid, uuid) == 0)
			return &z->doms[i];
	return NULL;
}

static void dom_free(struct zk_domain *d)
{
	free(d->name);
	free(d->state);
	free(d->node);
	free(d->lastnode);
}

static void dom_send(struct zk_ctx *z, const struct zk_domain *d)
{
	char ver[16];
	const char *v[6];

	snprintf(ver, sizeof(ver), "%d", (int)d->version);
	v[0] = d->uuid;
	v[1] = d->name ? d->name : "";
	v[2] = d->state ? d->state : "";
	v[3] = d->node ? d->node : "";
	v[4] = d->lastnode ? d->lastnode : "";
	v[5] = ver;
	(void)worker_send_strv(z->w, MSG_VM_DOMAIN, ROLE_VM, v, 6);
}

static void maybe_sync_done(struct zk_ctx *z)
{
	if (z->vm_sync_sent || !z->doms_listed)
		return;
	/* a VM with a malformed or missing state must not hold back every other VM */
	for (int i = 0; i < z->ndoms; i++)
		if (!z->doms[i].valid && !z->doms[i].settled)
			return;
	/* The same gate as a HELLO answer (docs/fencing.md §6): vm-manager may take
	 * this SYNC_DONE as the answer to its post-self-fence HELLO when a previous
	 * zk-election died before answering; the retry timer comes back here through
	 * zk_relay_vm_sync(). */
	if (z->hooks->defer_sync(z))
		return;
	z->vm_sync_sent = 1;
	(void)worker_send(z->w, MSG_VM_SYNC_DONE, ROLE_VM, NULL, 0);
	log_info("sent %d VM(s) to vm-manager", z->ndoms);
}

/* Text value: no NUL byte inside (STRV cannot carry it), bounded. */
static char *text_dup(const char *value, int len)
{
	char *s;

	if (len < 0)
		len = 0;
	if (value == NULL)
		len = 0;
	if ((size_t)len > IPC_MAX_PAYLOAD / 4 || (len && memchr(value, '\0', (size_t)len)))
		return NULL;
	s = malloc((size_t)len + 1);
	if (s == NULL)
		return NULL;
	if (len)
		memcpy(s, value, (size_t)len);
	s[len] = '\0';
	return s;
}

static void dom_field_done(int rc, const char *value, int len, const struct Stat *stat,
			   const void *data);

static void dom_read_field(struct zk_ctx *z, struct zk_domain *d, enum dfield f)
{
	static const char *const keys[] = {"state", NULL, "node", "lastnode"};
	struct dom_read *r = calloc(1, sizeof(*r));
	char path[128];
	int rc;

	if (r == NULL)
		return;
	r->z = z;
	strlcpy_pvc(r->uuid, d->uuid, sizeof(r->uuid));
	r->field = f;
	if (keys[f])
		snprintf(path, sizeof(path), "/domains/%s/%s", d->uuid, keys[f]);
	else
		snprintf(path, sizeof(path), "/domains/%s", d->uuid);
	if (f == DF_STATE)
		rc = zoo_awget(z->zh, path, zk_session_path_watcher, z, dom_field_done, r);
	else
		rc = zoo_aget(z->zh, path, 0, dom_field_done, r);
	if (rc != ZOK) {
		free(r);
		return;
	}
	d->pending++;
}

static void dom_field_done(int rc, const char *value, int len, const struct Stat *stat,
			   const void *data)
{
	struct dom_read *r = (struct dom_read *)data;
	struct zk_ctx *z = r->z;
	struct zk_domain *d = z->closing ? NULL : dom_find(z, r->uuid);
	char *s = NULL, **slot;
	int ok = 1;

	if (d == NULL)
		goto out;
	d->pending--;
	if (rc != ZOK) {
		if (rc != ZNONODE)
			log_debug("domain %s: %s", r->uuid, zk_session_err(rc));
		goto out; /* a deleted VM: the /domains children watch removes it */
	}
	s = text_dup(value, len);
	switch (r->field) {
	case DF_STATE:
		ok = s && zk_values_vmstate(s);
		slot = &d->state;
		break;
	case DF_NAME:
		ok = s != NULL;
		slot = &d->name;
		break;
	case DF_NODE:
		ok = s && zk_values_opt_node_name(s);
		slot = &d->node;
		break;
	default:
		ok = s && zk_values_opt_node_name(s);
		slot = &d->lastnode;
		break;
	}
	if (!ok) {
		char ex[64];

		log_warnx("/domains/%s/%s: invalid value \"%s\" ignored", r->uuid,
			  r->field == DF_STATE  ? "state"
			  : r->field == DF_NAME ? "(data: name)"
			  : r->field == DF_NODE ? "node"
						: "lastnode",
			  zk_values_excerpt(value, len, ex, sizeof(ex)));
		free(s);
		goto out;
	}
	free(*slot);
	*slot = s;
	if (r->field == DF_STATE) {
		d->version = stat ? stat->version : 0;
		/* name, node and lastnode are read along with every state firing */
		dom_read_field(z, d, DF_NAME);
		dom_read_field(z, d, DF_NODE);
		dom_read_field(z, d, DF_LASTNODE);
	}
	if (d->pending == 0 && d->state) {
		d->valid = 1;
		dom_send(z, d);
	}
out:
	if (d != NULL && d->pending == 0 && !d->settled) {
		d->settled = 1;
		maybe_sync_done(z);
	} else if (d != NULL && d->pending == 0) {
		maybe_sync_done(z);
	}
	free(r);
}

static void domains_done(int rc, const struct String_vector *sv, const struct Stat *stat,
			 const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;

	if (z->closing || rc != ZOK)
		return;
	/* gone */
	for (int i = 0; i < z->ndoms;) {
		int present = 0;
		for (int j = 0; sv && j < sv->count; j++)
			if (sv->data[j] && strcmp(sv->data[j], z->doms[i].uuid) == 0)
				present = 1;
		if (!present) {
			const char *v[1] = {z->doms[i].uuid};
			if (z->doms[i].valid)
				(void)worker_send_strv(z->w, MSG_VM_DOMAIN_GONE, ROLE_VM, v, 1);
			dom_free(&z->doms[i]);
			z->doms[i] = z->doms[--z->ndoms];
		} else {
			i++;
		}
	}
	/* new */
	for (int j = 0; sv && j < sv->count; j++) {
		const char *u = sv->data[j];
		struct zk_domain *d;
		if (u == NULL || !zk_values_uuid(u)) {
			log_debug("ignoring /domains child that is not a UUID");
			continue;
		}
		if (dom_find(z, u))
			continue;
		if (z->ndoms == z->capdoms) {
			int nc = z->capdoms ? z->capdoms * 2 : 32;
			struct zk_domain *nd = realloc(z->doms, (size_t)nc * sizeof(*nd));
			if (nd == NULL) {
				log_errx("out of memory for domains");
				break;
			}
			z->doms = nd;
			z->capdoms = nc;
		}
		d = &z->doms[z->ndoms++];
		memset(d, 0, sizeof(*d));
		strlcpy_pvc(d->uuid, u, sizeof(d->uuid));
		dom_read_field(z, d, DF_STATE);
	}
	z->doms_listed = 1;
	maybe_sync_done(z);
}

static void domains_list(struct zk_ctx *z)
{
	if (zk_session_usable(z) && z->cfg->enable_hypervisor)
		(void)zoo_awget_children2(z->zh, "/domains", zk_session_path_watcher, z, domains_done, z);
}

void zk_relay_vm_sync(struct zk_ctx *z)
{
	if (!z->cfg->enable_hypervisor)
		return;
	z->hooks->vm_hello(z); /* the self-fencing clock first (docs/fencing.md) */
	if (!z->vm_sync_sent) {
		/* the initial sync is still running and ends with SYNC_DONE */
		maybe_sync_done(z);
		return;
	}
	if (z->hooks->defer_sync(z))
		return; /* VM reads in flight: answer when they have landed */
	for (int i = 0; i < z->ndoms; i++)
		if (z->doms[i].valid)
			dom_send(z, &z->doms[i]);
	(void)worker_send(z->w, MSG_VM_SYNC_DONE, ROLE_VM, NULL, 0);
}

/* ---- domainstate, maintenance, nodes --------------------------------------------- */

static void ds_exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char own[ZK_NAME * 3];

	/* created between the failed get and this exists: read it now */
	if (rc == ZOK && !z->closing) {
		snprintf(own, sizeof(own), "/nodes/%s/domainstate", z->cfg->node_name);
		zk_relay_watch(z, ZOO_CREATED_EVENT, own);
	}
}

static void ds_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[16] = "";

	if (z->closing)
		return;
	if (rc == ZNONODE && zk_session_usable(z)) {
		/* not registered yet: a failed get sets no watch, exists does */
		char own[ZK_NAME * 3];
		snprintf(own, sizeof(own), "/nodes/%s/domainstate", z->cfg->node_name);
		(void)zoo_awexists(z->zh, own, zk_session_path_watcher, z, ds_exists_done, z);
		return;
	}
	if (rc != ZOK || stat == NULL)
		return;
	if (value && len > 0 && len < (int)sizeof(v)) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (!zk_values_domainstate(v)) {
		char ex[64];

		log_warnx("/nodes/%s/domainstate: invalid value \"%s\" ignored (keeping \"%s\")",
			  z->cfg->node_name, zk_values_excerpt(value, len, ex, sizeof(ex)), z->domainstate);
		return;
	}
	strlcpy_pvc(z->domainstate, v, sizeof(z->domainstate));
	z->domainstate_ver = stat->version;
	z->domainstate_known = 1;
	zk_relay_flush_domainstate(z);
	z->hooks->status(z);
}

void zk_relay_flush_domainstate(struct zk_ctx *z)
{
	char ver[16];
	const char *v[2];

	if (!z->domainstate_known)
		return;
	snprintf(ver, sizeof(ver), "%d", (int)z->domainstate_ver);
	v[0] = z->domainstate;
	v[1] = ver;
	(void)worker_send_strv(z->w, MSG_FLUSH_DOMAINSTATE, ROLE_FLUSH, v, 2);
}

static void maint_done(int rc, const char *value, int len, const struct Stat *stat,
		       const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	char v[16] = "";

	if (z->closing)
		return;
	if (rc == ZOK && value && len > 0 && len < (int)sizeof(v)) {
		memcpy(v, value, (size_t)len);
		v[len] = '\0';
	}
	if (rc == ZOK && strcmp(v, "True") != 0 && strcmp(v, "False") != 0) {
		char ex[64];

		log_warnx("/maintenance: invalid value \"%s\" read as False",
			  zk_values_excerpt(value, len, ex, sizeof(ex)));
	}
	if (rc == ZOK || rc == ZNONODE)
		z->maintenance = zk_values_strtobool(v); /* missing or garbage: false (ref §0.3) */
}

static void nodes_done(int rc, const struct String_vector *sv, const struct Stat *stat,
		       const void *data)
{
	struct zk_ctx *z = (struct zk_ctx *)data;
	int n = 0;

	if (z->closing || rc != ZOK)
		return;
	for (int i = 0; sv && i < sv->count; i++)
		if (sv->data[i] && zk_values_node_name(sv->data[i]))
			n++;
	z->nnodes = n;
}

static void own_path(const struct zk_ctx *z, const char *key, char *buf, size_t size)
{
	snprintf(buf, size, "/nodes/%s/%s", z->cfg->node_name, key);
}

void zk_relay_watch(struct zk_ctx *z, int type, const char *path)
{
	char own[ZK_NAME * 3];

	if (!zk_session_usable(z))
		return;
	own_path(z, "domainstate", own, sizeof(own));
	if (strcmp(path, own) == 0) {
		(void)zoo_awget(z->zh, own, zk_session_path_watcher, z, ds_done, z);
		return;
	}
	if (strcmp(path, "/maintenance") == 0) {
		(void)zoo_awget(z->zh, path, zk_session_path_watcher, z, maint_done, z);
		return;
	}
	if (strcmp(path, "/nodes") == 0) {
		(void)zoo_awget_children2(z->zh, path, zk_session_path_watcher, z, nodes_done, z);
		return;
	}
	if (strcmp(path, "/domains") == 0) {
		domains_list(z);
		return;
	}
	if (strncmp(path, "/domains/", 9) == 0 && strlen(path) == 9 + 36 + 6 &&
	    strcmp(path + 45, "/state") == 0) {
		char uuid[37];
		struct zk_domain *d;
		memcpy(uuid, path + 9, 36);
		uuid[36] = '\0';
		d = dom_find(z, uuid);
		if (d != NULL && type != ZOO_DELETED_EVENT)
			dom_read_field(z, d, DF_STATE);
	}
}

void zk_relay_connected(struct zk_ctx *z)
{
	char own[ZK_NAME * 3];

	own_path(z, "domainstate", own, sizeof(own));
	(void)zoo_awget(z->zh, own, zk_session_path_watcher, z, ds_done, z);
	(void)zoo_awget(z->zh, "/maintenance", zk_session_path_watcher, z, maint_done, z);
	(void)zoo_awget_children2(z->zh, "/nodes", zk_session_path_watcher, z, nodes_done, z);
	if (z->cfg->enable_hypervisor) {
		/* re-arm every state watch (after an expiry none is left) */
		for (int i = 0; i < z->ndoms; i++)
			dom_read_field(z, &z->doms[i], DF_STATE);
		domains_list(z);
	}
}

/* ---- the request API ----------------------------------------------------------- */

struct req {
	struct zk_ctx *z;
	enum pvc_role from;
	int admitted;      /* counted against from's cap (zk_relay_admit) */
	char *reqid;
	/* ZK_WRITE */
	int nops;
	char **op, **path, **value;
	int *version, *exists;
	int pending;
	int failed_rc;
};

static void req_free(struct req *r)
{
	if (r->admitted)
		zk_relay_release(r->z, r->from);
	for (int i = 0; i < r->nops; i++) {
		free(r->op[i]);
		free(r->path[i]);
		free(r->value[i]);
	}
	free(r->op);
	free(r->path);
	free(r->value);
	free(r->version);
	free(r->exists);
	free(r->reqid);
	free(r);
}

static void reply(struct zk_ctx *z, enum pvc_role to, const char *reqid, int rc,
		  const char *const *extra, int nextra)
{
	const char **v = calloc((size_t)nextra + 2, sizeof(*v));
	char rcs[16];

	if (v == NULL) {
		log_errx("out of memory for a reply");
		return;
	}
	snprintf(rcs, sizeof(rcs), "%d", rc);
	v[0] = reqid;
	v[1] = rcs;
	for (int i = 0; i < nextra; i++)
		v[2 + i] = extra[i];
	(void)worker_send_strv(z->w, MSG_ZK_REPLY, to, v, (uint32_t)nextra + 2);
	free(v);
}

static void get_done(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
	struct req *r = (struct req *)data;
	char ver[16];
	char *s;

	if (rc != ZOK) {
		reply(r->z, r->from, r->reqid, rc, NULL, 0);
	} else if ((s = text_dup(value, len)) == NULL) {
		log_warnx("request %s: value is not text", r->reqid);
		reply(r->z, r->from, r->reqid, IPC_RC_POLICY, NULL, 0);
	} else {
		const char *extra[2] = {s, ver};
		snprintf(ver, sizeof(ver), "%d", stat ? (int)stat->version : 0);
		reply(r->z, r->from, r->reqid, 0, extra, 2);
		free(s);
	}
	req_free(r);
}

static void children_done(int rc, const struct String_vector *sv, const void *data)
{
	struct req *r = (struct req *)data;
	const char **v;
	int n = 0;

	if (rc != ZOK || sv == NULL) {
		reply(r->z, r->from, r->reqid, rc != ZOK ? rc : ZSYSTEMERROR, NULL, 0);
		req_free(r);
		return;
	}
	v = calloc((size_t)sv->count + 1, sizeof(*v));
	if (v == NULL) {
		req_free(r);
		return;
	}
	for (int i = 0; i < sv->count; i++)
		if (sv->data[i] && zk_values_contender(sv->data[i], NULL) == 0)
			v[n++] = sv->data[i];
	reply(r->z, r->from, r->reqid, 0, v, n);
	free(v);
	req_free(r);
}

static void write_done(struct zk_ctx *z, int rc, struct zk_multi *m)
{
	struct req *r = m->arg;

	if (rc != ZOK)
		log_warnx("write request %s from %s failed: %s", r->reqid, role_name(r->from),
			  zk_session_err(rc));
	reply(z, r->from, r->reqid, rc, NULL, 0);
	req_free(r);
}

static void write_commit(struct req *r)
{
	struct zk_multi *m = zk_multi_new(r->z);

	if (m == NULL) {
		reply(r->z, r->from, r->reqid, ZSYSTEMERROR, NULL, 0);
		req_free(r);
		return;
	}
	for (int i = 0; i < r->nops; i++) {
		const char *op = r->op[i];
		if (strcmp(op, "delete") == 0)
			(void)zk_multi_delete(m, r->path[i], -1);
		else if (strcmp(op, "create") == 0 || (strcmp(op, "set") == 0 && !r->exists[i]))
			(void)zk_multi_create(m, r->path[i], r->value[i], 0);
		else
			(void)zk_multi_set(m, r->path[i], r->value[i], r->version[i]);
	}
	m->done = write_done;
	m->arg = r;
	zk_multi_commit(m);
}

struct exists_arg {
	struct req *r;
	int i;
};

static void exists_done(int rc, const struct Stat *stat, const void *data)
{
	struct exists_arg *a = (struct exists_arg *)data;
	struct req *r = a->r;

	if (rc == ZOK)
		r->exists[a->i] = 1;
	else if (rc != ZNONODE && r->failed_rc == 0)
		r->failed_rc = rc;
	free(a);
	if (--r->pending > 0)
		return;
	if (r->failed_rc != 0) {
		reply(r->z, r->from, r->reqid, r->failed_rc, NULL, 0);
		req_free(r);
		return;
	}
	write_commit(r);
}

static void request_write(struct zk_ctx *z, struct req *r, const struct ipc_strv *sv)
{
	uint32_t nops = (sv->n - 1) / 3;

	if (sv->n < 4 || (sv->n - 1) % 3 != 0 || nops > 256) {
		reply(z, r->from, r->reqid, IPC_RC_POLICY, NULL, 0);
		req_free(r);
		return;
	}
	r->op = calloc(nops, sizeof(char *));
	r->path = calloc(nops, sizeof(char *));
	r->value = calloc(nops, sizeof(char *));
	r->version = calloc(nops, sizeof(int));
	r->exists = calloc(nops, sizeof(int));
	if (!r->op || !r->path || !r->value || !r->version || !r->exists) {
		req_free(r);
		return;
	}
	for (uint32_t i = 0; i < nops; i++) {
		const char *op = sv->v[1 + 3 * i], *path = sv->v[2 + 3 * i], *val = sv->v[3 + 3 * i];
		if (!zk_values_policy_write((int)r->from, z->cfg->node_name, op, path, val,
				      &r->version[i])) {
			log_warnx("refused %s request from %s: %s %s", "write", role_name(r->from),
				  zk_values_path(path) ? path : "(bad path)", op);
			reply(z, r->from, r->reqid, IPC_RC_POLICY, NULL, 0);
			req_free(r);
			return;
		}
		r->op[i] = strdup(op);
		r->path[i] = strdup(path);
		r->value[i] = strdup(val);
		r->nops = (int)i + 1;
		if (!r->op[i] || !r->path[i] || !r->value[i]) {
			reply(z, r->from, r->reqid, ZSYSTEMERROR, NULL, 0);
			req_free(r);
			return;
		}
	}
	/* `set` means create-or-overwrite: learn which keys exist first */
	r->pending = 1;
	for (int i = 0; i < r->nops; i++) {
		struct exists_arg *a;
		if (strcmp(r->op[i], "set") != 0)
			continue;
		a = calloc(1, sizeof(*a));
		if (a == NULL)
			continue;
		a->r = r;
		a->i = i;
		r->pending++;
		if (zoo_aexists(z->zh, r->path[i], 0, exists_done, a) != ZOK) {
			r->pending--;
			free(a);
		}
	}
	if (--r->pending == 0)
		write_commit(r);
}

/* The busy answers since the last report, all roles in one line. */
static void busy_log(struct zk_ctx *z, uint64_t now)
{
	char buf[256];
	size_t o = 0;

	for (int i = 0; i < ROLE_COUNT; i++) {
		int n;
		if (z->req_busy[i] == 0)
			continue;
		n = snprintf(buf + o, sizeof(buf) - o, "%s%u from %s", o ? ", " : "",
			     z->req_busy[i], role_name((enum pvc_role)i));
		if (n < 0 || (size_t)n >= sizeof(buf) - o)
			break;
		o += (size_t)n;
		z->req_busy[i] = 0;
	}
	if (o == 0)
		return;
	z->req_busy_log_ms = now;
	log_warnx("ZooKeeper requests answered busy (more than %d in flight per role): %s",
		  ZK_RELAY_INFLIGHT_MAX, buf);
}

int zk_relay_admit(struct zk_ctx *z, enum pvc_role from)
{
	uint64_t now;

	if ((int)from < 0 || from >= ROLE_COUNT)
		return 0;
	/* A role's own requests queue behind its cap, never the session's other work
	 * (keepalive, election) and never another role's: one flooding or looping
	 * worker gets busy answers and backs off. */
	if (z->req_inflight[from] < ZK_RELAY_INFLIGHT_MAX) {
		z->req_inflight[from]++;
		return 1;
	}
	z->req_busy[from]++;
	now = mono_ms();
	if (z->req_busy_log_ms == 0 || now - z->req_busy_log_ms >= ZK_RELAY_BUSY_LOG_MS)
		busy_log(z, now);
	return 0;
}

void zk_relay_release(struct zk_ctx *z, enum pvc_role from)
{
	if ((int)from >= 0 && from < ROLE_COUNT && z->req_inflight[from] > 0)
		z->req_inflight[from]--;
}

void zk_relay_request(struct zk_ctx *z, struct ipc_msg *msg)
{
	struct ipc_strv sv;
	const char *err = NULL;
	struct req *r;
	int rc;

	if (ipc_strv_decode(msg->data, msg->hdr.len, &sv, &err) != 0) {
		log_warnx("malformed %s from %s ignored: %s", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender), err ? err : "?");
		return;
	}
	if (sv.n < 2) {
		log_warnx("malformed %s from %s ignored", ipc_type_name(msg->hdr.type),
			  role_name(msg->hdr.sender));
		ipc_strv_free(&sv);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->reqid = strdup(sv.v[0])) == NULL) {
		free(r);
		ipc_strv_free(&sv);
		return;
	}
	r->z = z;
	r->from = (enum pvc_role)msg->hdr.sender;
	if (!zk_session_usable(z)) {
		reply(z, r->from, r->reqid, IPC_RC_NOTCONN, NULL, 0);
		req_free(r);
		ipc_strv_free(&sv);
		return;
	}
	if (!zk_relay_admit(z, r->from)) {
		reply(z, r->from, r->reqid, IPC_RC_BUSY, NULL, 0);
		req_free(r);
		ipc_strv_free(&sv);
		return;
	}
	r->admitted = 1;
	if (msg->hdr.type == MSG_ZK_WRITE) {
		request_write(z, r, &sv);
		ipc_strv_free(&sv);
		return;
	}
	if (sv.n != 2 || !zk_values_policy_read((int)r->from, sv.v[1])) {
		log_warnx("refused read request from %s", role_name(r->from));
		reply(z, r->from, r->reqid, IPC_RC_POLICY, NULL, 0);
		req_free(r);
		ipc_strv_free(&sv);
		return;
	}
	if (msg->hdr.type == MSG_ZK_GET)
		rc = zoo_aget(z->zh, sv.v[1], 0, get_done, r);
	else
		rc = zoo_aget_children(z->zh, sv.v[1], 0, children_done, r);
	if (rc != ZOK) {
		reply(z, r->from, r->reqid, rc, NULL, 0);
		req_free(r);
	}
	ipc_strv_free(&sv);
}
