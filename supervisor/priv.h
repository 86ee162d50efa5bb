/*
 * priv.h: the supervisor's own privileges (priv.c) and the start-up checks that
 * decide whether the workers can be confined as promised (Landlock).
 */
#ifndef SUP_PRIV_H
#define SUP_PRIV_H

#include <stddef.h>

/* Landlock ABI of the running kernel (>= 1), or 0 when it has none (not built in,
 * or disabled at boot). */
int priv_landlock_abi(void);

/*
 * Whether the daemon may start with Landlock ABI `abi` (0 = unavailable) when
 * pvc.system.supervisor.allow_no_landlock is `allowed`. Returns 0 and describes the
 * state in `text` (for the log and pvcctl status), or -1 with the refusal in `text`.
 */
int priv_landlock_decide(int abi, int allowed, char *text, size_t size);

#endif
