/*
 * dirs.h: the directories of pvc.system.configuration.directories, created by the
 * supervisor (root) before any worker starts (dirs.c).
 */
#ifndef SUP_DIRS_H
#define SUP_DIRS_H

#include <stddef.h>

#include "config.h"

/* Resolve the role users (users.c: a missing or shared user is refused there), then
 * create every missing directory the daemon and its workers need. 0, or -1 with a
 * message naming the config key, the path or user and the reason in `err`. */
int sup_dirs_prepare(const struct pvc_config *cfg, char *err, size_t errlen);

#endif
