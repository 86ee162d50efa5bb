/*
 * flush_select.h: the node daemon's migration target selector (ref §6.3), as a pure
 * function over figures already read from ZooKeeper, so that the choice can be
 * tested against a table and the flush job stays a plain state machine.
 */
#ifndef FLUSH_SELECT_H
#define FLUSH_SELECT_H

#include <stddef.h>

/* One child of /nodes as read from ZooKeeper. Every field is the raw text of the
 * key, or NULL if the key was missing/unreadable. Nothing here is trusted. */
struct fsel_node {
	const char *name;
	const char *daemonstate;
	const char *domainstate;
	const char *memused;
	const char *memfree;
	const char *memalloc;
	const char *cpuload;
	const char *vcpualloc;
	const char *domainscount;
};

/* The VM's placement keys (raw text, NULL = missing). */
struct fsel_vm {
	const char *node;
	const char *node_limit;
	const char *node_selector;
};

struct fsel_result {
	int target;               /* index into the node array, -1: no target */
	const char *selector;     /* the selector actually used (static string) */
	int write_node_limit;     /* 1: node_limit was missing, write "" back */
	int write_node_selector;  /* 1: node_selector was missing/None, write `selector` back */
	int malformed;            /* candidates skipped because a figure was garbage */
	char note[160];           /* what was garbage (first case), for the log */
};

/* 1 if `s` is one of mem, load, vcpus, vms. */
int flush_select_valid_selector(const char *s);

/*
 * Choose a target for `vm` among `nodes` (ZooKeeper child order). `default_selector`
 * is the configured pvc.system.migration.target_selector. Candidates skip: names not
 * in a non-empty node_limit, the VM's current node, nodes whose daemonstate != run
 * or domainstate != ready, invalid node names, nodes whose figure for the selector
 * is missing or malformed. Choice as the reference: mem = largest
 * (memused+memfree-memalloc) > 0; load/vcpus/vms = smallest value < 9999; ties go to
 * the first in child order. Returns 0 (res filled, target may be -1), or -1 if the
 * arguments themselves are unusable.
 */
int flush_select_choose(const struct fsel_vm *vm, const struct fsel_node *nodes, size_t n,
			const char *default_selector, struct fsel_result *res);

#endif
