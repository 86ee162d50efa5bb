/*
 * vm_selffence.h: self-fencing in vm-manager (issue #8, docs/fencing.md). A node
 * whose keepalive has not committed for suicide_intervals x keepalive_interval
 * destroys the VMs it runs, and starts nothing again until keepalives resume and
 * a VM list fetched after them has arrived.
 */
#ifndef VM_SELFFENCE_H
#define VM_SELFFENCE_H

#include "vm_domain.h"

/* After READY (hypervisor enabled): starts the clock from now. */
void vm_selffence_init(struct vmm *m);
/* MSG_VM_KEEPALIVE from zk-election. */
void vm_selffence_keepalive(struct vmm *m, const struct ipc_msg *msg);
/* MSG_VM_SYNC_DONE: 1 if VMs may be acted upon, 0 while self-fenced. */
int vm_selffence_sync_done(struct vmm *m);

#endif
