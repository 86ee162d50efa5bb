/*
 * load.c: load and validate pvcnoded.yaml (ref §9) into struct pvc_config.
 *
 * The file is read into memory, parsed with libyaml into a document (node graph),
 * and the document is walked along a fixed schema, one section file each (identity.c,
 * cluster.c, coordinator.c, system.c). Nothing is recursive over the input: the walk
 * only descends into mappings the schema knows, so anchors, aliases (even cyclic
 * ones) and deep nesting cannot make it loop or overflow the stack.
 *
 * Every error is a single line:
 *     <file>:<line>:<col>: <key.path>: <what was expected, and the value found>
 * Lines and columns are 1-based. A missing key is reported at the position of the
 * mapping that should contain it. The first error stops the load.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"

#define CONFIG_DEFAULT_PATH "/etc/pvc/pvcnoded.yaml"
#define CONFIG_MAX_BYTES ((size_t)1 << 20)

static const char *const K_ROOT[] = { "pvc", NULL };
static const char *const K_PVC[] = { "node", "debug", "functions", "cluster", "coordinator",
				     "system", NULL };
static const char *const K_FUNCTIONS[] = { "enable_hypervisor", "enable_networking",
					   "enable_storage", "enable_api", NULL };

static int load_functions(struct ld *l, yaml_node_t *pvc, struct pvc_config *cfg)
{
	char p1[KEYPATH_MAX];
	yaml_node_t *m1;

	TRY(config_field_map(l, pvc, "pvc", "functions", 1, K_FUNCTIONS, &m1, p1, sizeof p1));
	TRY(config_field_bool(l, m1, p1, "enable_hypervisor", 1, &cfg->enable_hypervisor));
	TRY(config_field_bool(l, m1, p1, "enable_networking", 1, &cfg->enable_networking));
	TRY(config_field_bool(l, m1, p1, "enable_storage", 1, &cfg->enable_storage));
	TRY(config_field_bool(l, m1, p1, "enable_api", 1, &cfg->enable_api));
	return 0;
}

static int load_doc(struct ld *l, const char *hostname, struct pvc_config *cfg)
{
	char path[KEYPATH_MAX];
	yaml_node_t *root = yaml_document_get_root_node(l->doc), *pvc;

	if (!root) {
		yaml_mark_t m = { 0, 0, 0 };

		return err_at(l, &m, "pvc", "missing required key (the file is empty)");
	}
	if (root->type != YAML_MAPPING_NODE) {
		char got[SHOW_MAX * 4 + 32];

		config_error_describe(root, got, sizeof got);
		return err_node(l, root, "(top level)",
				"expected a mapping with the single key \"pvc\", got %s", got);
	}
	TRY(config_map_check(l, root, "", K_ROOT));
	TRY(config_field_map(l, root, "", "pvc", 1, K_PVC, &pvc, path, sizeof path));

	TRY(config_identity_load(l, pvc, hostname, cfg));
	TRY(config_field_bool(l, pvc, "pvc", "debug", 0, &cfg->debug));
	TRY(load_functions(l, pvc, cfg));
	/* the functions decide which of the following sections are required */
	TRY(config_cluster_load(l, pvc, cfg));
	TRY(config_coordinator_load(l, pvc, cfg));
	TRY(config_system_load(l, pvc, cfg));
	return 0;
}

/* The file holds the IPMI and database passwords: only root may read or change it.
 * Checked on the open fd (what is read is what was checked). Execute bits are
 * meaningless on it and ignored. */
static int insecure_mode(const struct stat *st)
{
	return st->st_uid != 0 || (st->st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0;
}

/* `st` receives the file's status; with `secure`, an insecure owner or mode fails
 * with *errnop = EACCES before a byte is read. */
static int read_file(const char *path, int secure, unsigned char **bufp, size_t *lenp,
		     int *errnop, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;

	*errnop = 0;
	if (fd < 0) {
		*errnop = errno;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		*errnop = errno;
		close(fd);
		return -1;
	}
	if (S_ISDIR(st->st_mode)) {
		*errnop = EISDIR;
		close(fd);
		return -1;
	}
	if (secure && insecure_mode(st)) {
		*errnop = EACCES;
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			unsigned char *nb;

			if (cap >= CONFIG_MAX_BYTES) {
				*errnop = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				*errnop = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*errnop = errno;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf) {
		buf = malloc(1);
		if (!buf) {
			*errnop = ENOMEM;
			return -1;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

static void parser_error(struct ld *l, yaml_parser_t *p, const unsigned char *buf, size_t len)
{
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *problem = p->problem ? p->problem : "unknown error";

	if (!l->err || !l->errlen)
		return;
	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(l->err, l->errlen, "%s: out of memory while parsing", l->file);
		return;
	case YAML_READER_ERROR: {
		/* the reader reports a byte offset: turn it into line:column */
		size_t i, off = p->problem_offset < len ? p->problem_offset : len;

		line = 1;
		col = 1;
		for (i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (p->problem_value != -1)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: YAML error: %s (byte 0x%02x)", l->file,
				 line, col, problem, (unsigned)p->problem_value & 0xffu);
		else
			snprintf(l->err, l->errlen, "%s:%zu:%zu: YAML error: %s", l->file, line, col,
				 problem);
		return;
	}
	default: {
		/* scanner/parser: syntax; composer: e.g. an alias without anchor */
		const char *what = p->error == YAML_COMPOSER_ERROR ? "YAML error" : "YAML syntax error";

		if (p->context)
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s %s (line %zu)", l->file, line,
				 col, what, problem, p->context, (size_t)p->context_mark.line + 1);
		else
			snprintf(l->err, l->errlen, "%s:%zu:%zu: %s: %s", l->file, line, col, what,
				 problem);
		return;
	}
	}
}

/* The file's text (NUL-terminated), or -1 with the "cannot open" error written. */
static int load_text(const char *path, int secure, unsigned char **buf, size_t *len,
		     char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (read_file(path, secure, buf, len, &e, &st) == 0)
		return 0;
	if (err && errlen) {
		if (secure && e == EACCES && insecure_mode(&st))
			snprintf(err, errlen,
				 "%s: refusing a configuration owned by uid %u with mode %04o: it "
				 "holds the IPMI and database passwords and must be owned by root "
				 "and not readable or writable by group or others (chown root %s; "
				 "chmod 0600 %s)",
				 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path,
				 path);
		else if (e == EFBIG)
			snprintf(err, errlen, "%s: cannot open: larger than %zu bytes", path,
				 CONFIG_MAX_BYTES);
		else
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
	}
	return -1;
}

/* Exactly one document: a second one would be silently ignored. */
static int single_document(struct ld *l, yaml_parser_t *parser, const unsigned char *buf,
			   size_t len)
{
	yaml_document_t doc2;
	yaml_node_t *r2;
	int rc = 0;

	if (!yaml_document_get_root_node(l->doc))
		return 0;
	if (!yaml_parser_load(parser, &doc2)) {
		parser_error(l, parser, buf, len);
		return -1;
	}
	r2 = yaml_document_get_root_node(&doc2);
	if (r2)
		rc = err_at(l, &r2->start_mark, "(top level)",
			    "expected a single YAML document, found a second one");
	yaml_document_delete(&doc2);
	return rc;
}

/* Parse the text the parser was given and walk the document into cfg. */
static int parse_and_load(struct ld *l, yaml_parser_t *parser, const unsigned char *buf,
			  size_t len, const char *hostname, struct pvc_config *cfg)
{
	yaml_document_t doc;
	int rc;

	if (!yaml_parser_load(parser, &doc)) {
		parser_error(l, parser, buf, len);
		return -1;
	}
	l->doc = &doc;
	rc = single_document(l, parser, buf, len);
	if (rc == 0) {
		if (copy_str(cfg->config_path, sizeof cfg->config_path, l->file) < 0) {
			if (l->err && l->errlen)
				snprintf(l->err, l->errlen,
					 "%s: cannot open: path longer than %d characters", l->file,
					 CFG_PATH_MAX - 1);
			rc = -1;
		} else {
			rc = load_doc(l, hostname, cfg);
		}
	}
	yaml_document_delete(&doc);
	l->doc = NULL;
	return rc;
}

static int load_path(const char *path, int secure, const char *hostname,
		     struct pvc_config *cfg, char *err, size_t errlen)
{
	struct ld l = { NULL, path ? path : "(null)", err, errlen };
	yaml_parser_t parser;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg) {
		if (err && errlen)
			snprintf(err, errlen, "%s: internal error: no config buffer", l.file);
		return -1;
	}
	memset(cfg, 0, sizeof *cfg);
	if (!path) {
		if (err && errlen)
			snprintf(err, errlen, "(null): cannot open: %s", strerror(EINVAL));
		return -1;
	}
	if (load_text(path, secure, &buf, &len, err, errlen) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser)) {
		explicit_bzero(buf, len);
		free(buf);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	rc = parse_and_load(&l, &parser, buf, len, hostname, cfg);
	yaml_parser_delete(&parser);
	explicit_bzero(buf, len);
	free(buf);
	if (rc < 0) {
		explicit_bzero(cfg, sizeof *cfg);
		if (err && errlen && !err[0])
			snprintf(err, errlen, "%s: invalid configuration", path);
		return -1;
	}
	return 0;
}

int config_load(const char *path, const char *hostname, struct pvc_config *cfg, char *err,
		size_t errlen)
{
	return load_path(path, 0, hostname, cfg, err, errlen);
}

int config_load_secure(const char *path, const char *hostname, struct pvc_config *cfg,
		       char *err, size_t errlen)
{
	return load_path(path, 1, hostname, cfg, err, errlen);
}

const char *config_default_path(const char *cli_path)
{
	const char *env;

	if (cli_path)
		return cli_path;
	env = getenv("PVCD_CONFIG_FILE");
	if (env && env[0])
		return env;
	return CONFIG_DEFAULT_PATH;
}
