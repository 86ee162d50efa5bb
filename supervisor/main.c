/*
 * main.c: pvcnoded entry point: parse the configuration once, then become the
 * supervisor, which starts each worker from its own program (workers/<role>/).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pvc.h"
#include "supervisor.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pvcnoded [-c FILE] [--check-config [-v]] [--version]\n"
		"  -c FILE          configuration (default: $PVCD_CONFIG_FILE, else /etc/pvc/pvcnoded.yaml)\n"
		"  --check-config   validate the configuration and exit (0 = valid)\n"
		"  -v               with --check-config: print the parsed values (secrets masked)\n"
		"exit status: 0 stopped normally, 1 start-up failure, 3 a worker crash-looped\n"
		"(escalation), 78 invalid configuration\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cli_path = NULL, *path;
	int check = 0, verbose = 0, opt;
	struct pvc_config *cfg;
	char err[1024];
	int rc;

	while ((opt = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cli_path = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("pvcnoded %s\n", PVC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return PVC_EXIT_FATAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return PVC_EXIT_FATAL;
	}
	path = config_default_path(cli_path);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return PVC_EXIT_FATAL;
	/* the same rule for --check-config: a file it accepts is one the daemon runs with */
	if (config_load_secure(path, NULL, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "pvcnoded: invalid configuration: %s\n", err);
		free(cfg);
		return PVC_EXIT_CONFIG;
	}
	if (check) {
		if (config_node_name_warning(cfg, err, sizeof(err)))
			fprintf(stderr, "pvcnoded: %s\n", err);
		printf("configuration %s is valid (node %s, %s)\n", path, cfg->node_name,
		       cfg->is_coordinator ? "coordinator" : "hypervisor");
		if (verbose)
			config_dump(cfg, stdout);
		free(cfg);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "pvcnoded: must be started as root (it confines its workers itself)\n");
		free(cfg);
		return PVC_EXIT_FATAL;
	}
	rc = supervisor_main(cfg);
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
	return rc;
}
