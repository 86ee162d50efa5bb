/*
 * out.c: pvcctl's output: aligned text tables or JSON, progress and final lines,
 * and the fatal error line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvcctl.h"

void pvcctl_out_json(const char *s)
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
		printf("%s %s: %d/%d VMs moved, in flight: %s\n", action, node, pr->moved, pr->total,
		       pr->inflight[0] ? pr->inflight : "-");
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
	} else if (code == 0) {
		printf("%s %s: %s\n", action, node, msg);
	} else {
		fprintf(stderr, "pvcctl: %s %s: %s\n", action, node, msg);
	}
	return code;
}

void pvcctl_out_die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("pvcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}
