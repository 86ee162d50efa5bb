/*
 * pvcctl: the operator tool. It talks only to the local pvcnoded through its control
 * socket (<dynamic_directory>/pvcnoded.sock, root only), with the same framing as the
 * workers and sender ROLE_CTL: `status` is answered by the supervisor, everything else
 * is a ZooKeeper request served by zk-election under the ctl path policy. There is no
 * second ZooKeeper client here on purpose: one node, one session, one policy.
 *
 * Exit status: 0 done, 1 failure (refused, timed out, daemon unreachable), 2 usage.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvcctl.h"

#define DEFAULT_WAIT_S 1800

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

/* ---- main ---------------------------------------------------------------------- */

struct args {
	const char *cfgpath, *sock, *cmd, *sub, *node;
	int wait, rest;
	long long timeout;
};

/* [-c CONFIG] [-s SOCKET] [--json] COMMAND [SUB] then --wait, --timeout S, NODE. */
static void parse_args(int argc, char **argv, struct args *a, struct ctl *c)
{
	static const struct option lopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+c:s:jh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->cfgpath = optarg; break;
		case 's': a->sock = optarg; break;
		case 'j': c->json = 1; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();
	a->cmd = argv[optind++];
	if (strcmp(a->cmd, "node") == 0 || strcmp(a->cmd, "vm") == 0) {
		if (optind >= argc)
			usage();
		a->sub = argv[optind++];
	}
	for (; optind < argc; optind++) {
		const char *s = argv[optind];
		if (strcmp(s, "--wait") == 0) {
			a->wait = 1;
		} else if (strcmp(s, "--json") == 0) {
			c->json = 1;
		} else if (strcmp(s, "--timeout") == 0) {
			if (++optind >= argc || parse_ll(argv[optind], 1, 604800, &a->timeout) != 0)
				pvcctl_out_die(EXIT_USAGE, "--timeout needs a number of seconds (1..604800)");
		} else if (s[0] == '-') {
			usage();
		} else if (a->node == NULL) {
			a->node = s;
			a->rest++;
		} else {
			usage();
		}
	}
}

/* The config tells where the socket is and which node is "here". */
static void load_config(struct args *a, struct ctl *c, char *sockbuf, size_t size)
{
	char err[512];

	if (config_load(config_default_path(a->cfgpath), NULL, &c->cfg, err, sizeof(err)) == 0) {
		c->have_cfg = 1;
		strlcpy_pvc(c->node, c->cfg.node_name, sizeof(c->node));
	} else if (a->sock == NULL || a->cfgpath != NULL) {
		pvcctl_out_die(1, "%s", err);
	}
	if (a->sock == NULL) {
		snprintf(sockbuf, size, "%s/pvcnoded.sock", c->cfg.dynamic_directory);
		a->sock = sockbuf;
	}
	if (a->node == NULL)
		a->node = c->node[0] ? c->node : NULL;
	if (a->node && !valid_node_name(a->node))
		pvcctl_out_die(EXIT_USAGE, "invalid node name \"%s\"", a->node);
}

static int run(const struct args *a, struct ctl *c)
{
	const char *sub = a->sub, *node = a->node;

	if (strcmp(a->cmd, "status") == 0 && sub == NULL && a->rest == 0 && !a->wait) {
		pvcctl_chan_connect(c, a->sock);
		return pvcctl_cmd_status(c);
	}
	if (sub == NULL)
		usage();
	if (strcmp(a->cmd, "vm") == 0) {
		if (strcmp(sub, "list") != 0 || a->rest || a->wait)
			usage();
		pvcctl_chan_connect(c, a->sock);
		return pvcctl_cmd_vm_list(c);
	}
	if (strcmp(sub, "list") == 0 && !a->rest && !a->wait) {
		pvcctl_chan_connect(c, a->sock);
		return pvcctl_cmd_node_list(c);
	}
	if (node == NULL)
		pvcctl_out_die(EXIT_USAGE, "no NODE given and no node name in the configuration");
	if (strcmp(sub, "flush") == 0 || strcmp(sub, "unflush") == 0 || strcmp(sub, "ready") == 0) {
		pvcctl_chan_connect(c, a->sock);
		return pvcctl_cmd_domainstate(c, strcmp(sub, "flush") == 0, node, a->wait,
					      (long)a->timeout);
	}
	if ((strcmp(sub, "primary") == 0 || strcmp(sub, "secondary") == 0) && a->rest == 1 &&
	    !a->wait) {
		pvcctl_chan_connect(c, a->sock);
		return strcmp(sub, "primary") == 0 ? pvcctl_cmd_primary(c, node)
						   : pvcctl_cmd_secondary(c, node);
	}
	usage();
}

int main(int argc, char **argv)
{
	static struct ctl c;
	struct args a = {.timeout = DEFAULT_WAIT_S};
	char sockbuf[CFG_PATH_MAX + 32];

	parse_args(argc, argv, &a, &c);
	load_config(&a, &c, sockbuf, sizeof(sockbuf));
	return run(&a, &c);
}
