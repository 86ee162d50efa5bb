/*
 * seccomp.c: the metadata worker's system calls beyond the common set: threads (the
 * HTTP thread of libmicrohttpd), a TCP client (libpq to PostgreSQL, the resolver),
 * read-only opens (resolver and OpenSSL files; Landlock decides which), and the
 * server side of an already listening socket (accept4: the supervisor bound it; no
 * bind or listen here), an eventfd (the HTTP thread's wake-up of the loop, and MHD's
 * own for suspend/resume).
 */
#include <seccomp.h>

#include "meta.h"
#include "sandbox.h"

static const struct sandbox_sys meta_syscalls[] = {
	SANDBOX_SYS(accept4),
	SANDBOX_SYS(accept),
	SANDBOX_SYS(eventfd2),
	SANDBOX_SYS(pipe2),
	SANDBOX_SYS(pread64),   /* OpenSSL's and NSS's file reads */
	SANDBOX_SYS(access),    /* OpenSSL's configuration lookup */
	SANDBOX_SYS(faccessat),
	SANDBOX_SYS(faccessat2),
	SANDBOX_SYS(getdents64),
	SANDBOX_SYS(readlink),  /* OpenSSL resolving its configuration's path (TLS to */
	SANDBOX_SYS(readlinkat), /* PostgreSQL, s30 with ssl = on) */
	SANDBOX_SYS_END,
};

int meta_seccomp_rules(void *scmp_ctx)
{
	if (sandbox_rules_threads(scmp_ctx) != 0 || sandbox_rules_tcp_client(scmp_ctx) != 0 ||
	    sandbox_rules_files_ro(scmp_ctx) != 0)
		return -1;
	return sandbox_allow_list(scmp_ctx, meta_syscalls);
}
