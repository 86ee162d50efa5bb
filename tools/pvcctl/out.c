/*
 * out.c: pvcctl's output: aligned text tables or JSON, progress and final lines,
 * and the fatal error line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvcctl.h"

/* A C1 control (U+0080..U+009F, e.g. CSI) in UTF-8: 0xc2 then 0x80..0x9f. */
static int out_is_c1(const unsigned char *p)
{
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/* Values come from ZooKeeper, which any client of the cluster may write: in JSON,
 * control characters (DEL and C1 too) are \u escapes, never raw bytes. */
void pvcctl_out_json(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else if (out_is_c1(p))
			printf("\\u%04x", *++p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* The same for text: a value printed to a terminal must not drive it (ESC
 * sequences retitle it, clear it, hide text; a newline forges a line). Control bytes
 * become \xNN. Returns a new string; out of memory ends pvcctl. */
char *pvcctl_out_clean(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *d = malloc(n * 4 + 1);

	if (d == NULL)
		pvcctl_out_die(1, "out of memory");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			o += (size_t)sprintf(d + o, "\\x%02x", *p);
		} else if (out_is_c1(p)) {
			o += (size_t)sprintf(d + o, "\\x%02x\\x%02x", p[0], p[1]);
			p++;
		} else {
			d[o++] = (char)*p;
		}
	}
	d[o] = '\0';
	return d;
}

/* Clean every string of a reply in place (text mode). */
void pvcctl_out_clean_strv(struct ipc_strv *sv)
{
	for (uint32_t i = 0; i < sv->n; i++) {
		char *c = pvcctl_out_clean(sv->v[i]);
		free(sv->v[i]);
		sv->v[i] = c;
		sv->lens[i] = (uint32_t)strlen(c);
	}
}

/* Print rows of `ncol` strings as an aligned table (text) or an array of objects. */
void pvcctl_out_table(struct ctl *c, const char *const *head, int ncol, char ***rows, size_t nrows)
{
	size_t w[16] = {0};

	if (c->json) {
		putchar('[');
		for (size_t r = 0; r < nrows; r++) {
			printf("%s{", r ? "," : "");
			for (int k = 0; k < ncol; k++) {
				printf("%s", k ? "," : "");
				pvcctl_out_json(head[k]);
				putchar(':');
				pvcctl_out_json(rows[r][k]);
			}
			putchar('}');
		}
		puts("]");
		return;
	}
	for (int k = 0; k < ncol; k++)
		w[k] = strlen(head[k]);
	for (size_t r = 0; r < nrows; r++)
		for (int k = 0; k < ncol; k++) {
			char *t = pvcctl_out_clean(rows[r][k]);
			if (strlen(t) > w[k])
				w[k] = strlen(t);
			free(t);
		}
	for (int k = 0; k < ncol; k++)
		printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, head[k], k + 1 < ncol ? "  " : "\n");
	for (size_t r = 0; r < nrows; r++)
		for (int k = 0; k < ncol; k++) {
			char *t = pvcctl_out_clean(rows[r][k]);
			printf("%-*s%s", k + 1 < ncol ? (int)w[k] : 0, t, k + 1 < ncol ? "  " : "\n");
			free(t);
		}
}


void pvcctl_out_progress(struct ctl *c, const char *action, const char *node,
			 const struct progress *pr)
{
	if (c->json) {
		printf("{\"action\":\"%s\",\"node\":", action);
		pvcctl_out_json(node);
		printf(",\"moved\":%d,\"total\":%d,\"in_flight\":", pr->moved, pr->total);
		pvcctl_out_json(pr->inflight);
		puts("}");
	} else {
		char *n = pvcctl_out_clean(node), *f = pvcctl_out_clean(pr->inflight[0] ? pr->inflight : "-");
		printf("%s %s: %d/%d VMs moved, in flight: %s\n", action, n, pr->moved, pr->total, f);
		free(n);
		free(f);
	}
	fflush(stdout);
}

int pvcctl_out_finish(struct ctl *c, const char *action, const char *node, int code,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->json) {
		printf("{\"action\":\"%s\",\"node\":", action);
		pvcctl_out_json(node);
		printf(",\"result\":\"%s\",\"message\":", code == 0 ? "ok" : "failed");
		pvcctl_out_json(msg);
		puts("}");
	} else {
		char *n = pvcctl_out_clean(node), *m = pvcctl_out_clean(msg);
		if (code == 0)
			printf("%s %s: %s\n", action, n, m);
		else
			fprintf(stderr, "pvcctl: %s %s: %s\n", action, n, m);
		free(n);
		free(m);
	}
	return code;
}

void pvcctl_out_die(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("pvcctl: ", stderr);
	/* no pvcctl_out_clean(): it may itself die; a fixed-size escape instead */
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	fputc('\n', stderr);
	exit(code);
}
