/*
 * meta.h: the metadata worker (pvc-metadata), the cloud-init metadata API that the
 * primary coordinator serves at http://169.254.169.254/ (docs/metadata.md).
 *
 *   meta.c    the worker: primary state from zk-election, the listening socket from
 *             the supervisor, the work loop (ZooKeeper scans, database fetches)
 *   http.c    libmicrohttpd in its own thread: requests, answers, limits
 *   cache.c   what the HTTP thread answers from (client IP -> VM, profile -> user-data),
 *             shared under one mutex
 *   scan.c    a ZooKeeper scan through zk-election: leases, VMs, their MACs and profiles
 *   db.c      one persistent, non-blocking libpq connection
 *   route.c   pure: the URL router, the MAC addresses of a libvirt XML
 *
 * Threads: the worker's event loop (main thread) owns the scan, the database and the
 * supervisor channel; the HTTP thread only reads the cache. A request whose answer is
 * not in the cache is suspended (MHD_suspend_connection) and the main thread is woken
 * (eventfd); the main thread resumes every waiting request after each scan or fetch.
 */
#ifndef META_H
#define META_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define META_IP_MAX 16          /* dotted quad + NUL */
#define META_MAC_MAX 18         /* aa:bb:cc:dd:ee:ff + NUL */
#define META_UUID_MAX 37
#define META_NAME_MAX 256       /* VM and profile names (longer ones are skipped) */
#define META_VM_MACS 8          /* interfaces of one VM that are looked at */
#define META_MAX_VMS 8192
#define META_MAX_LEASES 16384
#define META_MAX_PROFILES 256   /* profile user-data cache entries */
#define META_USERDATA_MAX (4u << 20) /* a larger user-data is answered 500 */
#define META_UD_TTL_MS 1000     /* a profile's user-data is re-read after this */
#define META_NEG_TTL_MS 1000    /* an IP unknown to a scan this recent is answered 404 */
#define META_SCAN_PERIOD_MS 5000 /* the client IP -> VM map is rebuilt this often */
#define META_WAITERS_MAX 1024   /* suspended requests; beyond: 503 */

/* ---- route.c (pure) ------------------------------------------------------------- */

enum meta_route {
	META_R_NOTFOUND,
	META_R_ROOT,        /* / */
	META_R_MD_INDEX,    /* /<version>/meta-data[/] */
	META_R_INSTANCE_ID, /* /<version>/meta-data/instance-id */
	META_R_NAME,        /* /<version>/meta-data/name */
	META_R_PROFILE,     /* /<version>/meta-data/profile */
	META_R_USERDATA,    /* /<version>/user-data */
};

/* The route of an HTTP request path (untrusted, len bytes, not NUL-terminated). */
enum meta_route meta_route_parse(const char *path, size_t len);
/* The MAC addresses of the <interface> elements of a libvirt domain XML, lower-case
 * "aa:bb:cc:dd:ee:ff", at most max; returns how many. */
int meta_route_xml_macs(const char *xml, size_t len, char (*macs)[META_MAC_MAX], int max);
/* Normalise a MAC address (any case, ':' or '-') into out; 0, or -1 if it is none. */
int meta_route_mac(const char *s, size_t len, char out[META_MAC_MAX]);
/* A dotted-quad IPv4 address as inet_pton accepts it: 1 or 0. */
int meta_route_valid_ip(const char *s);

/* ---- cache.c -------------------------------------------------------------------- */

struct meta_vm {
	char ip[META_IP_MAX];
	char mac[META_MAC_MAX];
	char uuid[META_UUID_MAX];
	char name[META_NAME_MAX];
	char profile[META_NAME_MAX];
	/* the IP maps to more than one VM (a stale and a new lease, a MAC on two VMs):
	 * refused (409) rather than answered with either VM's data; uuid, name and
	 * profile are empty */
	int ambiguous;
};

enum meta_ud_state { META_UD_NONE, META_UD_OK, META_UD_EMPTY, META_UD_DBERR, META_UD_TOOBIG };

struct meta_prof {
	char name[META_NAME_MAX];
	enum meta_ud_state state;
	char *data;            /* META_UD_OK: the user-data (len bytes, NUL-terminated) */
	size_t len;
	uint64_t fetched_ms;   /* CLOCK_MONOTONIC of the last fetch's end (0: never) */
	uint64_t done_seq;     /* fetches finished */
	uint64_t used_ms;      /* last request: the least recently used entry is reused */
	int wanted;            /* a request waits for a fresh fetch */
};

struct meta_cache {
	pthread_mutex_t mu;
	struct meta_vm *vms;   /* sorted by ip */
	size_t nvms;
	uint64_t scan_done;    /* scans finished (successful or not) */
	uint64_t scan_done_start_ms; /* start of the last successful scan (0: none) */
	int scan_failed;       /* the last scan failed: unknown clients get 503 */
	int scan_running;
	uint64_t scan_start_ms;
	int scan_wanted;       /* a request waits for a scan that starts after it */
	struct meta_prof profs[META_MAX_PROFILES];
	int serving;           /* 0 while not primary or stopping: answer 503 */
};

int meta_cache_init(struct meta_cache *c);
void meta_cache_free(struct meta_cache *c);
/* Replace the VM map (takes ownership of vms, sorts it); locks. */
void meta_cache_set_vms(struct meta_cache *c, struct meta_vm *vms, size_t n, int failed,
			uint64_t start_ms);
/* The VM with this IP, or NULL; caller holds the lock. */
const struct meta_vm *meta_cache_find_vm(const struct meta_cache *c, const char *ip);
/* The entry for a profile, created (least recently used one reused) if absent, or NULL
 * if every entry is being fetched; caller holds the lock. */
struct meta_prof *meta_cache_prof(struct meta_cache *c, const char *name, uint64_t now);
/* Store a fetch's result (data copied); locks. */
void meta_cache_prof_done(struct meta_cache *c, const char *name, enum meta_ud_state st,
			  const char *data, size_t len, uint64_t now);
/* The name of a profile a request waits for (copied to out), or 0; caller holds the lock. */
int meta_cache_prof_next(struct meta_cache *c, char *out, size_t size);

/* ---- scan.c --------------------------------------------------------------------- */

struct ipc_zkreq_client;
struct meta_scan;
/* Called once per scan with the map (ownership passes) or failed = 1. */
typedef void (*meta_scan_done_fn)(void *arg, struct meta_vm *vms, size_t n, int failed);
struct meta_scan *meta_scan_new(struct ipc_zkreq_client *zk, meta_scan_done_fn done, void *arg);
/* Start a scan; -1 if one runs already or the first request cannot be sent. */
int meta_scan_start(struct meta_scan *s);
int meta_scan_running(const struct meta_scan *s);
/* Drop a running scan (its requests cancelled, late replies ignored; done is not
 * called) and the MACs kept from earlier scans. */
void meta_scan_abort(struct meta_scan *s);
/* Pure: build the IP map from leases (mac, ip) and VMs, one entry per IP (out has room
 * for nleases); an IP whose leases lead to more than one VM gets one entry with
 * ambiguous set. Exported for the unit test. */
struct meta_lease {
	char mac[META_MAC_MAX];
	char ip[META_IP_MAX];
};
struct meta_vminfo {
	char uuid[META_UUID_MAX];
	char name[META_NAME_MAX];
	char profile[META_NAME_MAX];
	char macs[META_VM_MACS][META_MAC_MAX];
	int nmacs;
};
size_t meta_scan_join(const struct meta_lease *leases, size_t nleases,
		      const struct meta_vminfo *vms, size_t nvms, struct meta_vm *out);

/* ---- db.c ----------------------------------------------------------------------- */

struct ev_loop;
struct cfg_db;
struct meta_db;
/* A fetch's result: state, and for META_UD_OK the data. */
typedef void (*meta_db_done_fn)(void *arg, const char *profile, enum meta_ud_state st,
				const char *data, size_t len);
struct meta_db *meta_db_new(struct ev_loop *loop, const struct cfg_db *cfg, meta_db_done_fn done,
			    void *arg);
/* Fetch the user-data of a profile; -1 if a fetch runs already. A database that is
 * down (or in its reconnect backoff) answers META_UD_DBERR without waiting. */
int meta_db_fetch(struct meta_db *d, const char *profile);
int meta_db_busy(const struct meta_db *d);
/* Close the connection (relinquish); the next fetch connects again. */
void meta_db_close(struct meta_db *d);

/* ---- http.c --------------------------------------------------------------------- */

struct meta_http;
/* wake: called from the HTTP thread when a request waits (the main thread then looks
 * at scan_wanted and the profiles' wanted flags). */
struct meta_http *meta_http_new(struct meta_cache *c, void (*wake)(void *arg), void *arg);
/* Serve on a listening socket (takes it); 0 or -1. */
int meta_http_start(struct meta_http *h, int listen_fd);
/* Stop serving: waiting requests are answered 503, the socket and connections closed. */
void meta_http_stop(struct meta_http *h);
int meta_http_running(const struct meta_http *h);
/* Resume every suspended request (each looks at the cache again). */
void meta_http_resume_all(struct meta_http *h);
/* Figures for the status lines. */
void meta_http_counts(struct meta_http *h, uint64_t *requests, uint64_t *errors);

/* seccomp.c */
int meta_seccomp_rules(void *scmp_ctx);

#endif
