/*
 * scan.c: one pass over ZooKeeper (through zk-election's request API) that maps each
 * client IP with a DHCP lease to its VM:
 *   /networks -> /networks/<vni>/dhcp4_leases -> .../<mac>/ipaddr   (net_lease.c writes them)
 *   /domains  -> /domains/<uuid> (name), .../profile, .../xml (MACs of its interfaces)
 * The requests run concurrently (zk-election pipelines them); the scan ends when the
 * last reply is in. A key that vanished meanwhile (no node) is skipped; any other
 * error fails the scan (the cache keeps the previous map). The reference looked the
 * MAC up the same way (the VM whose interface has the lease's MAC), per request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"
#include "meta.h"
#include "pvc.h"
#include "zkreq.h"

enum kind { K_NETS = 1, K_LEASES, K_IP, K_DOMS, K_DNAME, K_DPROF, K_DXML };

/* At most this many requests in flight (zk-election answers busy beyond 256 per role);
 * the rest wait in a queue. */
#define SCAN_INFLIGHT 128
/* A VM's XML (kilobytes each) is read when the VM is new to the scan, and for every VM
 * only on every SCAN_XML_EVERY-th scan (a minute at META_SCAN_PERIOD_MS); in between
 * the MACs of the previous scan are kept. The MACs of a VM seldom change; its name,
 * profile and the leases are read on every scan. */
#define SCAN_XML_EVERY 12

struct qent {
	struct qent *next;
	uint32_t type, idx;
	enum kind k;
	char path[];
};

struct prev_vm {
	char uuid[META_UUID_MAX];
	char macs[META_VM_MACS][META_MAC_MAX];
	int nmacs;
};

struct meta_scan {
	struct ipc_zkreq_client *zk;
	meta_scan_done_fn done;
	void *arg;
	int running, failed;
	uint32_t gen;
	uint64_t nscans;
	unsigned outstanding;
	struct qent *qhead, **qtail;
	struct meta_lease *leases;
	size_t nleases;
	struct meta_vminfo *vms;
	size_t nvms;
	struct prev_vm *prev; /* the last successful scan's MACs, sorted by uuid */
	size_t nprev;
	size_t nambiguous; /* of the last scan: logged when it changes */
};

static void reply_cb(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep);

struct meta_scan *meta_scan_new(struct ipc_zkreq_client *zk, meta_scan_done_fn done, void *arg)
{
	struct meta_scan *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->zk = zk;
	s->done = done;
	s->arg = arg;
	s->qtail = &s->qhead;
	return s;
}

int meta_scan_running(const struct meta_scan *s)
{
	return s->running;
}

static void queue_free(struct meta_scan *s)
{
	while (s->qhead) {
		struct qent *q = s->qhead;
		s->qhead = q->next;
		free(q);
	}
	s->qtail = &s->qhead;
}

static void send_req(struct meta_scan *s, uint32_t type, enum kind k, uint32_t idx,
		     const char *path)
{
	const char *args[1] = {path};
	struct ipc_zkreq *r;

	r = ipc_zkreq_issue(s->zk, type, args, 1, reply_cb, s);
	if (r == NULL) {
		log_warnx("metadata: ZooKeeper request for %s not sent: %s", path, strerror(errno));
		s->failed = 1;
		return;
	}
	r->tag = (int)k;
	r->cookie = ((uint64_t)s->gen << 32) | idx;
	s->outstanding++;
}

static void issue(struct meta_scan *s, uint32_t type, enum kind k, uint32_t idx, const char *path)
{
	size_t len = strlen(path) + 1;
	struct qent *q;

	if (s->failed)
		return;
	if (s->outstanding < SCAN_INFLIGHT && s->qhead == NULL) {
		send_req(s, type, k, idx, path);
		return;
	}
	q = malloc(sizeof(*q) + len);
	if (q == NULL) {
		log_warnx("metadata: ZooKeeper scan: out of memory");
		s->failed = 1;
		return;
	}
	q->next = NULL;
	q->type = type;
	q->k = k;
	q->idx = idx;
	memcpy(q->path, path, len);
	*s->qtail = q;
	s->qtail = &q->next;
}

static void queue_drain(struct meta_scan *s)
{
	while (s->qhead && s->outstanding < SCAN_INFLIGHT && !s->failed) {
		struct qent *q = s->qhead;
		s->qhead = q->next;
		if (s->qhead == NULL)
			s->qtail = &s->qhead;
		send_req(s, q->type, q->k, q->idx, q->path);
		free(q);
	}
	if (s->failed)
		queue_free(s);
}

static void scan_free_lists(struct meta_scan *s)
{
	queue_free(s);
	free(s->leases);
	free(s->vms);
	s->leases = NULL;
	s->vms = NULL;
	s->nleases = s->nvms = 0;
}

int meta_scan_start(struct meta_scan *s)
{
	if (s->running)
		return -1;
	s->leases = calloc(META_MAX_LEASES, sizeof(*s->leases));
	s->vms = calloc(META_MAX_VMS, sizeof(*s->vms));
	if (s->leases == NULL || s->vms == NULL) {
		scan_free_lists(s);
		return -1;
	}
	s->gen++;
	s->nscans++;
	s->running = 1;
	s->failed = 0;
	s->outstanding = 0;
	issue(s, MSG_ZK_CHILDREN, K_NETS, 0, "/networks");
	issue(s, MSG_ZK_CHILDREN, K_DOMS, 0, "/domains");
	if (s->outstanding == 0) {
		s->running = 0;
		scan_free_lists(s);
		return -1;
	}
	return 0;
}

void meta_scan_abort(struct meta_scan *s)
{
	/* the next scan (a new term, or after a failure) reads every XML again */
	free(s->prev);
	s->prev = NULL;
	s->nprev = 0;
	s->nambiguous = 0; /* the next term's map logs its conflicts again */
	if (!s->running)
		return;
	s->running = 0;
	s->gen++; /* replies still on their way are ignored */
	/* and no request of it stays pending (resent for ever while ZooKeeper is away):
	 * the scan is this client's only user */
	ipc_zkreq_cancel_all(s->zk);
	scan_free_lists(s);
}

static int prev_cmp(const void *a, const void *b)
{
	return strcmp(((const struct prev_vm *)a)->uuid, ((const struct prev_vm *)b)->uuid);
}

/* The MACs of the previous scan for v, unless this scan reads every XML: 1 if taken. */
static int prev_macs(struct meta_scan *s, struct meta_vminfo *v)
{
	struct prev_vm key, *p;

	if (s->nscans % SCAN_XML_EVERY == 1 || s->nprev == 0)
		return 0;
	memcpy(key.uuid, v->uuid, sizeof(key.uuid));
	p = bsearch(&key, s->prev, s->nprev, sizeof(key), prev_cmp);
	if (p == NULL)
		return 0;
	memcpy(v->macs, p->macs, sizeof(v->macs));
	v->nmacs = p->nmacs;
	return 1;
}

/* Keep this scan's MACs for the next ones. */
static void prev_save(struct meta_scan *s)
{
	struct prev_vm *p = calloc(s->nvms ? s->nvms : 1, sizeof(*p));

	if (p == NULL)
		return; /* the next scan reads every XML */
	for (size_t i = 0; i < s->nvms; i++) {
		memcpy(p[i].uuid, s->vms[i].uuid, sizeof(p[i].uuid));
		memcpy(p[i].macs, s->vms[i].macs, sizeof(p[i].macs));
		p[i].nmacs = s->vms[i].nmacs;
	}
	qsort(p, s->nvms, sizeof(*p), prev_cmp);
	free(s->prev);
	s->prev = p;
	s->nprev = s->nvms;
}

/* Children: [reqid, rc, child...] */
static void on_children(struct meta_scan *s, enum kind k, const struct ipc_zkreq *r,
			const struct ipc_strv *rep)
{
	char path[512];

	for (uint32_t i = 2; i < rep->n && !s->failed; i++) {
		const char *c = rep->v[i];
		if (k == K_NETS) {
			snprintf(path, sizeof(path), "/networks/%s/dhcp4_leases", c);
			if (strlen(c) < 64 && strchr(c, '/') == NULL)
				issue(s, MSG_ZK_CHILDREN, K_LEASES, 0, path);
		} else if (k == K_LEASES) {
			struct meta_lease *l;
			if (s->nleases >= META_MAX_LEASES)
				break;
			l = &s->leases[s->nleases];
			if (meta_route_mac(c, rep->lens[i], l->mac) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/ipaddr", r->v[0], c);
			issue(s, MSG_ZK_GET, K_IP, (uint32_t)s->nleases++, path);
		} else if (k == K_DOMS) {
			struct meta_vminfo *v;
			if (s->nvms >= META_MAX_VMS)
				break;
			if (!valid_uuid(c))
				continue;
			v = &s->vms[s->nvms];
			strlcpy_pvc(v->uuid, c, sizeof(v->uuid));
			snprintf(path, sizeof(path), "/domains/%s", c);
			issue(s, MSG_ZK_GET, K_DNAME, (uint32_t)s->nvms, path);
			snprintf(path, sizeof(path), "/domains/%s/profile", c);
			issue(s, MSG_ZK_GET, K_DPROF, (uint32_t)s->nvms, path);
			if (prev_macs(s, v)) {
				s->nvms++;
				continue;
			}
			snprintf(path, sizeof(path), "/domains/%s/xml", c);
			issue(s, MSG_ZK_GET, K_DXML, (uint32_t)s->nvms++, path);
		}
	}
}

/* Get: [reqid, rc, value, version] */
static void on_get(struct meta_scan *s, enum kind k, uint32_t idx, const struct ipc_strv *rep)
{
	const char *val = rep->v[2];
	size_t len = rep->lens[2];

	if (k == K_IP) {
		if (idx < s->nleases && len < META_IP_MAX && meta_route_valid_ip(val))
			strlcpy_pvc(s->leases[idx].ip, val, META_IP_MAX);
		return;
	}
	if (idx >= s->nvms)
		return;
	if (k == K_DNAME && len < META_NAME_MAX)
		strlcpy_pvc(s->vms[idx].name, val, META_NAME_MAX);
	else if (k == K_DPROF && len < META_NAME_MAX)
		strlcpy_pvc(s->vms[idx].profile, val, META_NAME_MAX);
	else if (k == K_DXML)
		s->vms[idx].nmacs = meta_route_xml_macs(val, len, s->vms[idx].macs, META_VM_MACS);
}

static void scan_log_ambiguous(struct meta_scan *s, const struct meta_vm *out, size_t n)
{
	size_t k = 0;
	const char *first = NULL;

	for (size_t i = 0; i < n; i++)
		if (out[i].ambiguous && k++ == 0)
			first = out[i].ip;
	if (k != s->nambiguous && k > 0)
		log_warnx("metadata: %zu client IP(s) map to more than one VM (first %s: two "
			  "leases, or a MAC on two VMs): their requests are refused (409)",
			  k, first);
	else if (k != s->nambiguous)
		log_info("metadata: every client IP maps to one VM again");
	s->nambiguous = k;
}

static void scan_finish(struct meta_scan *s)
{
	struct meta_vm *out = NULL;
	size_t n = 0;
	int failed = s->failed;

	if (!failed) {
		prev_save(s);
		out = calloc(s->nleases ? s->nleases : 1, sizeof(*out));
		if (out == NULL)
			failed = 1;
		else
			n = meta_scan_join(s->leases, s->nleases, s->vms, s->nvms, out);
		scan_log_ambiguous(s, out, n);
	}
	s->running = 0;
	scan_free_lists(s);
	s->done(s->arg, out, n, failed);
}

static void reply_cb(void *arg, struct ipc_zkreq *r, int rc, struct ipc_strv *rep)
{
	struct meta_scan *s = arg;
	enum kind k = (enum kind)r->tag;

	if (rc == IPC_RC_CANCELLED || (uint32_t)(r->cookie >> 32) != s->gen || !s->running)
		return;
	s->outstanding--;
	if (rc == 0 && rep != NULL) {
		if (r->type == MSG_ZK_CHILDREN)
			on_children(s, k, r, rep);
		else if (rep->n >= 3)
			on_get(s, k, (uint32_t)r->cookie, rep);
	} else if (rc != IPC_RC_NONODE && !s->failed) {
		log_warnx("metadata: ZooKeeper %s %s failed: rc %d", ipc_type_name(r->type),
			  r->n ? r->v[0] : "?", rc);
		s->failed = 1;
	}
	queue_drain(s);
	if (s->outstanding == 0 && s->qhead == NULL)
		scan_finish(s);
}

struct macref {
	char mac[META_MAC_MAX];
	size_t vm;
};

static int macref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct macref *)a)->mac, ((const struct macref *)b)->mac);
}

/* The VM of a MAC: its index, -1 if none, -2 if two VMs have that MAC. */
static long mac_vm(const struct macref *refs, size_t nrefs, const char *mac)
{
	struct macref key;
	const struct macref *hit, *lo, *hi;

	memcpy(key.mac, mac, META_MAC_MAX);
	hit = bsearch(&key, refs, nrefs, sizeof(*refs), macref_cmp);
	if (hit == NULL)
		return -1;
	for (lo = hit; lo > refs && strcmp(lo[-1].mac, mac) == 0; lo--)
		;
	for (hi = hit; hi + 1 < refs + nrefs && strcmp(hi[1].mac, mac) == 0; hi++)
		;
	for (const struct macref *r = lo; r <= hi; r++)
		if (r->vm != hit->vm)
			return -2;
	return (long)hit->vm;
}

static int vm_ip_cmp(const void *a, const void *b)
{
	return strcmp(((const struct meta_vm *)a)->ip, ((const struct meta_vm *)b)->ip);
}

/* Sorted by IP, one entry per IP: entries of one IP naming different VMs (or one
 * already ambiguous) become one ambiguous entry. Returns the new count. */
static size_t join_dedup(struct meta_vm *out, size_t n)
{
	size_t w = 0;

	if (n > 1)
		qsort(out, n, sizeof(*out), vm_ip_cmp);
	for (size_t i = 0; i < n; i++) {
		struct meta_vm *prev = w ? &out[w - 1] : NULL;
		if (prev != NULL && strcmp(prev->ip, out[i].ip) == 0) {
			if (out[i].ambiguous || strcmp(prev->uuid, out[i].uuid) != 0) {
				memset(prev->uuid, 0, sizeof(prev->uuid));
				memset(prev->name, 0, sizeof(prev->name));
				memset(prev->profile, 0, sizeof(prev->profile));
				prev->ambiguous = 1;
			}
			continue;
		}
		if (w != i)
			out[w] = out[i];
		w++;
	}
	return w;
}

size_t meta_scan_join(const struct meta_lease *leases, size_t nleases,
		      const struct meta_vminfo *vms, size_t nvms, struct meta_vm *out)
{
	struct macref *refs = calloc(nvms * META_VM_MACS + 1, sizeof(*refs));
	size_t nrefs = 0, n = 0;

	if (refs == NULL)
		return 0;
	for (size_t i = 0; i < nvms; i++)
		for (int j = 0; j < vms[i].nmacs && j < META_VM_MACS; j++) {
			memcpy(refs[nrefs].mac, vms[i].macs[j], META_MAC_MAX);
			refs[nrefs++].vm = i;
		}
	qsort(refs, nrefs, sizeof(*refs), macref_cmp);
	for (size_t i = 0; i < nleases; i++) {
		const struct meta_lease *l = &leases[i];
		long vi;

		if (l->ip[0] == '\0' || (vi = mac_vm(refs, nrefs, l->mac)) == -1)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		strlcpy_pvc(out[n].ip, l->ip, sizeof(out[n].ip));
		strlcpy_pvc(out[n].mac, l->mac, sizeof(out[n].mac));
		if (vi == -2) {
			out[n++].ambiguous = 1;
			continue;
		}
		strlcpy_pvc(out[n].uuid, vms[vi].uuid, sizeof(out[n].uuid));
		strlcpy_pvc(out[n].name, vms[vi].name, sizeof(out[n].name));
		strlcpy_pvc(out[n].profile, vms[vi].profile, sizeof(out[n].profile));
		n++;
	}
	free(refs);
	return join_dedup(out, n);
}
