/*
 * acl.c: optional digest authentication (pvc.cluster.zookeeper.auth) and the ACL of
 * the nodes we create (docs/election.md "ZooKeeper ACLs").
 *
 * With auth, a created node gets ZOO_CREATOR_ALL_ACL: the server replaces the "auth"
 * entry with the digest identity of the session, digest:user:base64(sha1(user:pass)),
 * exactly what kazoo's make_digest_acl() gives for the same secret, so PVC's API/CLI
 * configured with the same digest can read and write what we create, and we what
 * they create with that digest. No world READ: /nodes/<node>/ipmipassword is among
 * the nodes, and keeping it from whoever can reach port 2181 is the point.
 */
#include <string.h>

#include "log.h"
#include "zk_acl.h"
#include "zk_internal.h"

struct ACL_vector *zk_acl_create(const struct zk_ctx *z)
{
	return z->cfg->zk_auth_secret[0] ? &ZOO_CREATOR_ALL_ACL : &ZOO_OPEN_ACL_UNSAFE;
}

static void auth_done(int rc, const void *data)
{
	(void)data;
	/* digest authentication is never refused by the server (any identity is valid);
	 * a failure here is a closed handle, or a server with a custom provider */
	if (rc != ZOK && rc != ZCLOSING)
		log_warnx("ZooKeeper digest authentication: %s", zerror(rc));
}

int zk_acl_add_auth(struct zk_ctx *z)
{
	const char *s = z->cfg->zk_auth_secret;
	int rc;

	if (!s[0])
		return 0;
	/* Queued before any request of this handle, so no create can go out unauthenticated
	 * (it would fail with ZINVALIDACL, never create an open node). */
	rc = zoo_add_auth(z->zh, "digest", s, (int)strlen(s), auth_done, NULL);
	if (rc != ZOK) {
		log_warnx("ZooKeeper digest authentication: cannot queue it: %s", zerror(rc));
		return -1;
	}
	return 0;
}
