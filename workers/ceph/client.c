/*
 * client.c: the librados client of the rados thread (ceph_int.h): connect with
 * short timeouts, monitor and manager commands with JSON answers, the result list
 * of a job. Only the rados thread calls these.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "ceph_int.h"

#define CEPH_TIMEOUT_S "4" /* mount, monitor/manager command, OSD op */

void ceph_client_disconnect(struct ceph_rados *r)
{
	if (r->cluster) {
		rados_shutdown((rados_t)r->cluster);
		r->cluster = NULL;
	}
}

int ceph_client_connect(struct ceph_rados *r, char *err, size_t errsz)
{
	/* given as command-line options, which outrank ceph.conf from the start: a
	 * log_file or admin_socket of the conf's [global] would otherwise be opened
	 * while the file is read, and this process writes no file */
	static const char *args[] = {
		"pvc-ceph", /* argv[0]: skipped by the parser */
		"--client_mount_timeout=" CEPH_TIMEOUT_S, "--rados_mon_op_timeout=" CEPH_TIMEOUT_S,
		"--rados_osd_op_timeout=" CEPH_TIMEOUT_S, "--log_to_stderr=false",
		"--err_to_stderr=false", "--log_file=", "--log_to_file=false", "--admin_socket=",
		"--log_to_syslog=false", "--err_to_syslog=false",
	};
	rados_t cl;
	int rc;

	if (r->cluster)
		return 0;
	rc = rados_create2(&cl, "ceph", r->client, 0);
	if (rc < 0) {
		snprintf(err, errsz, "rados_create2(%s): %s", r->client, strerror(-rc));
		return -1;
	}
	rc = rados_conf_parse_argv(cl, (int)(sizeof(args) / sizeof(args[0])), args);
	if (rc < 0) {
		snprintf(err, errsz, "rados_conf_parse_argv: %s", strerror(-rc));
		rados_shutdown(cl);
		return -1;
	}
	rc = rados_conf_read_file(cl, r->conf);
	if (rc < 0) {
		snprintf(err, errsz, "cannot read %s: %s", r->conf, strerror(-rc));
		rados_shutdown(cl);
		return -1;
	}
	if (r->keyring[0] && (rc = rados_conf_set(cl, "keyring", r->keyring)) < 0) {
		snprintf(err, errsz, "keyring %s: %s", r->keyring, strerror(-rc));
		rados_shutdown(cl);
		return -1;
	}
	rc = rados_connect(cl);
	if (rc < 0) {
		snprintf(err, errsz, "cannot connect to the cluster of %s as %s: %s", r->conf,
			 r->client, strerror(-rc));
		rados_shutdown(cl);
		return -1;
	}
	r->cluster = cl;
	return 0;
}

/* One monitor (mgr = 0) or manager command; *out malloc'd, NUL-terminated; an
 * answer over max bytes is refused (librados has it in memory already, but the
 * parse tree would cost several times that). */
int ceph_client_command(struct ceph_rados *r, int mgr, const char *cmd, size_t max, char **out,
			size_t *outlen, char *err, size_t errsz)
{
	const char *argv[1] = {cmd};
	char *ob = NULL, *os = NULL;
	size_t obl = 0, osl = 0;
	int rc;

	if (mgr)
		rc = rados_mgr_command((rados_t)r->cluster, argv, 1, "", 0, &ob, &obl, &os, &osl);
	else
		rc = rados_mon_command((rados_t)r->cluster, argv, 1, "", 0, &ob, &obl, &os, &osl);
	if (rc < 0 || obl > max) {
		snprintf(err, errsz, "%s command %s: %s%s%.*s", mgr ? "manager" : "monitor", cmd,
			 rc < 0 ? strerror(-rc) : "answer too large", osl ? ": " : "",
			 (int)(osl > 200 ? 200 : osl), os ? os : "");
		rados_buffer_free(ob);
		rados_buffer_free(os);
		return rc < 0 ? rc : -EMSGSIZE;
	}
	*out = malloc(obl + 1);
	if (*out == NULL) {
		rados_buffer_free(ob);
		rados_buffer_free(os);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (obl)
		memcpy(*out, ob, obl);
	(*out)[obl] = '\0';
	*outlen = obl;
	rados_buffer_free(ob);
	rados_buffer_free(os);
	return 0;
}

/* A command's JSON answer parsed; the tree points into *raw (free both). */
struct cj *ceph_client_json(struct ceph_rados *r, int mgr, const char *cmd, size_t max,
			    char **raw, char *err, size_t errsz)
{
	size_t len;
	struct cj *n;

	*raw = NULL;
	if (ceph_client_command(r, mgr, cmd, max, raw, &len, err, errsz) != 0)
		return NULL;
	n = ceph_json_parse(*raw, len);
	if (n == NULL)
		snprintf(err, errsz, "%s command %s: the answer is no JSON",
			 mgr ? "manager" : "monitor", cmd);
	return n;
}

int ceph_client_kv_add(struct ceph_job *j, const char *path, const char *value, size_t len,
		       enum ceph_kv_group group)
{
	struct ceph_kv *kv;

	if (j->nkv >= CEPH_KV_MAX)
		return -1;
	kv = &j->kv[j->nkv];
	if (snprintf(kv->path, sizeof(kv->path), "%s", path) >= (int)sizeof(kv->path))
		return -1;
	kv->value = malloc(len + 1);
	if (kv->value == NULL)
		return -1;
	memcpy(kv->value, value, len);
	kv->value[len] = '\0';
	kv->group = group;
	j->nkv++;
	return 0;
}


void ceph_client_note(struct ceph_job *j, const char *line)
{
	size_t l = strlen(line);
	char *n;

	if (j->notes_len + l + 2 > 64 * 1024)
		return;
	n = realloc(j->notes, j->notes_len + l + 2);
	if (n == NULL)
		return;
	memcpy(n + j->notes_len, line, l);
	n[j->notes_len + l] = '\n';
	n[j->notes_len + l + 1] = '\0';
	j->notes = n;
	j->notes_len += l + 1;
}
