/*
 * zk_acl.h: ZooKeeper authentication of the node's session and the ACL of every node
 * zk-election creates (acl.c). Included by the files of workers/zk that create nodes.
 */
#ifndef ZK_ACL_H
#define ZK_ACL_H

#include <zookeeper.h>

struct zk_ctx;

/* The ACL for a node we create: with pvc.cluster.zookeeper.auth, all permissions to
 * the digest identity we authenticated as and nothing to anybody else; without it,
 * open to the world as the reference daemon creates them. */
struct ACL_vector *zk_acl_create(const struct zk_ctx *z);

/* Send our digest credentials on the fresh handle z->zh (nothing without auth). The
 * client library sends them again by itself on every reconnection of that handle.
 * -1 if the client refused to queue them. */
int zk_acl_add_auth(struct zk_ctx *z);

#endif
