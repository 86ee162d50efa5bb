/*
 * evloop.h: a small poll(2) event loop with fd callbacks, one-shot timers and a
 * prepare hook (used by zk-election to feed zookeeper_interest() into poll).
 * Single-threaded; every callback runs on the loop's thread.
 */
#ifndef EVLOOP_H
#define EVLOOP_H

#include <poll.h>
#include <stdint.h>

struct ev_loop;

typedef void (*ev_fd_cb)(struct ev_loop *loop, int fd, short revents, void *arg);
typedef void (*ev_timer_cb)(struct ev_loop *loop, void *arg);
/* Called before every poll; returns the longest time (ms) poll may wait, or -1. */
typedef int (*ev_prepare_cb)(struct ev_loop *loop, void *arg);

struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *loop);

/* Register or replace the callback for fd. */
int ev_add_fd(struct ev_loop *loop, int fd, short events, ev_fd_cb cb, void *arg);
int ev_mod_fd(struct ev_loop *loop, int fd, short events);
void ev_del_fd(struct ev_loop *loop, int fd);

/* One-shot timer after delay_ms; returns an id > 0 (0 on allocation failure). */
uint64_t ev_timer(struct ev_loop *loop, uint64_t delay_ms, ev_timer_cb cb, void *arg);
void ev_timer_cancel(struct ev_loop *loop, uint64_t id);

void ev_set_prepare(struct ev_loop *loop, ev_prepare_cb cb, void *arg);

/* Run until ev_break(); returns 0, or -1 if poll fails for a reason other than EINTR. */
int ev_run(struct ev_loop *loop);
void ev_break(struct ev_loop *loop);

#endif
