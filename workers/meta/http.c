/*
 * http.c: the metadata API's HTTP server, libmicrohttpd with one internal thread
 * (epoll) on the listening socket the supervisor opened. The thread answers from the
 * cache (cache.c) and never logs (the log channel belongs to the main thread); what is
 * not in the cache, it suspends and asks the main thread for (wake callback).
 *
 * Answers (PVC's clients, cloud-init's EC2 data source, see only the first two):
 *   200  the value; user-data of a VM without a profile or of a profile without
 *        user-data is empty (as the reference)
 *   404  an unknown path, or a client IP that no DHCP lease of a VM explains (the
 *        reference answered 500 or an empty 200; cloud-init takes 404 as "not here")
 *   405  any method but GET and HEAD;  413  a request with a body
 *   414/431  a request line or headers over the per-connection memory (MHD's own)
 *   500  a user-data larger than META_USERDATA_MAX
 *   503  not primary (a relinquish in progress), ZooKeeper or the database
 *        unreachable, or too many waiting requests: try again
 * Limits: MHD_OPTION_CONNECTION_MEMORY_LIMIT (request line + headers), connections in
 * total and per client IP, an idle timeout (a slowloris client is cut after
 * META_HTTP_IDLE_S without a byte; it holds at most META_HTTP_PER_IP connections).
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "meta.h"
#include "pvc.h"

#define META_HTTP_CONNS 1024      /* in total */
#define META_HTTP_PER_IP 64       /* per client IP (the benchmark uses 50) */
#define META_HTTP_IDLE_S 5        /* without a byte received */
#define META_HTTP_MEM (16 * 1024) /* request line + headers of one connection */

struct meta_http {
	struct meta_cache *c;
	void (*wake)(void *arg);
	void *arg;
	struct MHD_Daemon *d;
	struct MHD_Connection *waiting[META_WAITERS_MAX]; /* under c->mu */
	size_t nwaiting;
	atomic_uint_least64_t requests, errors;
};

struct req {
	int checked;
	int waited_scan, waited_prof;
	uint64_t want_scan, prof_seq;
};

struct meta_http *meta_http_new(struct meta_cache *c, void (*wake)(void *arg), void *arg)
{
	struct meta_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->c = c;
	h->wake = wake;
	h->arg = arg;
	return h;
}

static enum MHD_Result answer(struct meta_http *h, struct MHD_Connection *con, unsigned code,
			      const char *body, size_t len, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	atomic_fetch_add(&h->requests, 1);
	if (code >= 400)
		atomic_fetch_add(&h->errors, 1);
	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(con, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct meta_http *h, struct MHD_Connection *con, unsigned code,
			    const char *body)
{
	return answer(h, con, code, body, strlen(body), "text/plain; charset=utf-8");
}

/* Called with c->mu held; releases it. */
static enum MHD_Result wait_for(struct meta_http *h, struct MHD_Connection *con)
{
	if (h->nwaiting >= META_WAITERS_MAX) {
		pthread_mutex_unlock(&h->c->mu);
		return text(h, con, 503, "busy: too many requests waiting\n");
	}
	h->waiting[h->nwaiting++] = con;
	MHD_suspend_connection(con);
	pthread_mutex_unlock(&h->c->mu);
	h->wake(h->arg);
	return MHD_YES;
}

/* The client's VM is missing from the map: wait for a scan, or answer. c->mu held,
 * released. */
static enum MHD_Result unknown_client(struct meta_http *h, struct MHD_Connection *con,
				      struct req *rq, const char *ip)
{
	struct meta_cache *c = h->c;
	uint64_t now = mono_ms();
	char msg[128];

	if (!rq->waited_scan &&
	    (c->scan_done_start_ms == 0 || c->scan_failed ||
	     now - c->scan_done_start_ms >= META_NEG_TTL_MS)) {
		/* a scan that starts after this request (or one running that started
		 * recently enough) decides */
		rq->waited_scan = 1;
		if (c->scan_running && now - c->scan_start_ms < META_NEG_TTL_MS) {
			rq->want_scan = c->scan_done + 1;
		} else {
			rq->want_scan = c->scan_done + (c->scan_running ? 2 : 1);
			c->scan_wanted = 1;
		}
	}
	if (rq->waited_scan && c->scan_done < rq->want_scan)
		return wait_for(h, con);
	if (c->scan_failed) {
		pthread_mutex_unlock(&c->mu);
		return text(h, con, 503, "ZooKeeper unavailable: try again\n");
	}
	pthread_mutex_unlock(&c->mu);
	snprintf(msg, sizeof(msg), "no VM with a DHCP lease for %s\n", ip);
	return text(h, con, 404, msg);
}

/* c->mu held, released. */
static enum MHD_Result userdata(struct meta_http *h, struct MHD_Connection *con,
				struct req *rq, const struct meta_vm *vm)
{
	struct meta_cache *c = h->c;
	uint64_t now = mono_ms();
	struct meta_prof *p;
	enum MHD_Result ret;

	/* the reference writes "None" for a VM defined without a profile */
	if (vm->profile[0] == '\0' || strcmp(vm->profile, "None") == 0) {
		pthread_mutex_unlock(&c->mu);
		return text(h, con, 200, "");
	}
	p = meta_cache_prof(c, vm->profile, now);
	if (p == NULL) {
		pthread_mutex_unlock(&c->mu);
		return text(h, con, 503, "busy: too many profiles being read\n");
	}
	if (!(rq->waited_prof && p->done_seq > rq->prof_seq) &&
	    !(p->fetched_ms != 0 && now - p->fetched_ms < META_UD_TTL_MS)) {
		rq->waited_prof = 1;
		rq->prof_seq = p->done_seq;
		p->wanted = 1;
		return wait_for(h, con);
	}
	switch (p->state) {
	case META_UD_OK:
		ret = answer(h, con, 200, p->data, p->len, "text/plain; charset=utf-8");
		break;
	case META_UD_TOOBIG:
		ret = text(h, con, 500, "user-data too large\n");
		break;
	case META_UD_DBERR:
		ret = text(h, con, 503, "metadata database unavailable: try again\n");
		break;
	default:
		ret = text(h, con, 200, "");
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return ret;
}

static int client_ip(struct MHD_Connection *con, char *ip, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin;

	if (ci == NULL || ci->client_addr == NULL || ci->client_addr->sa_family != AF_INET)
		return -1;
	sin = (const struct sockaddr_in *)ci->client_addr;
	return inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)size) ? 0 : -1;
}

static enum MHD_Result serve(struct meta_http *h, struct MHD_Connection *con, struct req *rq,
			     enum meta_route route)
{
	static const char root[] = "{\"message\": \"PVC Provisioner Metadata API version 1\"}\n";
	struct meta_cache *c = h->c;
	const struct meta_vm *vm;
	char ip[INET_ADDRSTRLEN], val[META_NAME_MAX + 1];

	if (route == META_R_ROOT)
		return answer(h, con, 200, root, sizeof(root) - 1, "application/json");
	if (route == META_R_MD_INDEX)
		return text(h, con, 200, "instance-id\nname\nprofile");
	if (route == META_R_NOTFOUND)
		return text(h, con, 404, "not found\n");
	if (client_ip(con, ip, sizeof(ip)) != 0)
		return text(h, con, 404, "no VM for this client\n");
	pthread_mutex_lock(&c->mu);
	if (!c->serving) {
		pthread_mutex_unlock(&c->mu);
		return text(h, con, 503, "not the primary coordinator now: try again\n");
	}
	vm = meta_cache_find_vm(c, ip);
	if (vm == NULL)
		return unknown_client(h, con, rq, ip);
	if (vm->ambiguous) {
		/* never another VM's data: the scan logged the conflict */
		pthread_mutex_unlock(&c->mu);
		snprintf(val, sizeof(val), "%s maps to more than one VM (DHCP leases or MACs): refused\n", ip);
		return text(h, con, 409, val);
	}
	if (route == META_R_USERDATA)
		return userdata(h, con, rq, vm);
	strlcpy_pvc(val, route == META_R_INSTANCE_ID ? vm->uuid
			 : route == META_R_NAME      ? vm->name
						     : vm->profile,
		    sizeof(val));
	pthread_mutex_unlock(&c->mu);
	return text(h, con, 200, val);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_size, void **req_cls)
{
	struct meta_http *h = cls;
	struct req *rq = *req_cls;

	if (rq == NULL) {
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		*req_cls = rq;
	}
	if (*upload_size != 0) {
		*upload_size = 0; /* answered 413 already; the body is dropped */
		return MHD_YES;
	}
	if (!rq->checked) {
		rq->checked = 1;
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
			return text(h, con, 405, "only GET and HEAD\n");
		if (MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
		    (MHD_lookup_connection_value(con, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH) != NULL &&
		     strcmp(MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_LENGTH), "0") != 0))
			return text(h, con, 413, "no request body expected\n");
	}
	return serve(h, con, rq, meta_route_parse(url, strlen(url)));
}

static void completed(void *cls, struct MHD_Connection *con, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	free(*req_cls);
	*req_cls = NULL;
}

int meta_http_start(struct meta_http *h, int listen_fd)
{
	if (h->d != NULL)
		return -1;
	h->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0,
		NULL, NULL, handler, h, MHD_OPTION_LISTEN_SOCKET, listen_fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)META_HTTP_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)META_HTTP_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)META_HTTP_IDLE_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)META_HTTP_MEM,
		MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	return h->d ? 0 : -1;
}

void meta_http_resume_all(struct meta_http *h)
{
	struct MHD_Connection *w[META_WAITERS_MAX];
	size_t n;

	pthread_mutex_lock(&h->c->mu);
	n = h->nwaiting;
	memcpy(w, h->waiting, n * sizeof(w[0]));
	h->nwaiting = 0;
	pthread_mutex_unlock(&h->c->mu);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(w[i]);
}

void meta_http_stop(struct meta_http *h)
{
	if (h->d == NULL)
		return;
	pthread_mutex_lock(&h->c->mu);
	h->c->serving = 0;
	pthread_mutex_unlock(&h->c->mu);
	/* MHD_stop_daemon() must find no suspended connection */
	meta_http_resume_all(h);
	MHD_stop_daemon(h->d); /* closes the listening socket and every connection */
	h->d = NULL;
}

int meta_http_running(const struct meta_http *h)
{
	return h->d != NULL;
}

void meta_http_counts(struct meta_http *h, uint64_t *requests, uint64_t *errors)
{
	*requests = atomic_load(&h->requests);
	*errors = atomic_load(&h->errors);
}
