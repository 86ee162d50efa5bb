/*
 * pvcctl.h: what the files of pvcctl share (pvcctl.c: arguments and main; chan.c:
 * the control socket; zk.c: ZooKeeper reads and writes through zk-election; out.c:
 * text and JSON output; cmd.c: the commands).
 */
#ifndef PVCCTL_H
#define PVCCTL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ipc.h"
#include "pvc.h"
#include "zkreq.h"

#define EXIT_USAGE 2
#define REPLY_TIMEOUT_MS 10000

struct ctl {
	struct ipc_chan chan;
	struct ipc_zkreq_client zk;
	int json;
	char node[CFG_NAME_MAX];   /* the local node (default NODE) */
	struct pvc_config cfg;
	int have_cfg;
};

struct reply {
	struct ipc_strv sv; /* [reqid, rc, ...] */
	int rc;
	int done;
};


struct progress {
	int total, moved;
	char inflight[512];
};


/* chan.c */
void pvcctl_chan_connect(struct ctl *c, const char *path);
void pvcctl_chan_send(struct ctl *c, uint32_t type, enum pvc_role dest, const char *const *v,
		      uint32_t n);
void pvcctl_chan_recv(struct ctl *c, uint32_t type, struct reply *out);

/* zk.c: every failure but a missing key ends the program (pvcctl_die) */
const char *pvcctl_zk_rc_text(int rc);
char *pvcctl_zk_get(struct ctl *c, long long *ver, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *pvcctl_zk_kget(struct ctl *c, const char *base, const char *name, const char *key,
		     const char *dflt);
void pvcctl_zk_children(struct ctl *c, const char *path, struct reply *r);
int pvcctl_zk_write1(struct ctl *c, const char *op, const char *path, const char *value);

/* out.c; pvcctl_out_die() prints "pvcctl: ..." on stderr and exits with code */
void pvcctl_out_die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void pvcctl_out_json(const char *s);
/* text mode: control bytes (ESC, newline, DEL, C1) as \xNN; a new string */
char *pvcctl_out_clean(const char *s);
void pvcctl_out_clean_strv(struct ipc_strv *sv);
void pvcctl_out_table(struct ctl *c, const char *const *head, int ncol, char ***rows,
		      size_t nrows);
void pvcctl_out_progress(struct ctl *c, const char *action, const char *node,
			 const struct progress *pr);
int pvcctl_out_finish(struct ctl *c, const char *action, const char *node, int code,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* cmd.c */
int pvcctl_cmd_status(struct ctl *c);
int pvcctl_cmd_node_list(struct ctl *c);
int pvcctl_cmd_vm_list(struct ctl *c);
int pvcctl_cmd_domainstate(struct ctl *c, int flush, const char *node, int wait, long timeout_s);
int pvcctl_cmd_primary(struct ctl *c, const char *node);
int pvcctl_cmd_secondary(struct ctl *c, const char *node);

#endif
