/*
 * metasock.c: the metadata API's listening socket (MSG_META_LISTEN_OPEN).
 *
 * cloud-init asks http://169.254.169.254:80/. Port 80 needs CAP_NET_BIND_SERVICE,
 * which the supervisor holds anyway (for net-router's dnsmasq); rather than give the
 * metadata worker a capability, the supervisor opens the socket for it and passes the
 * descriptor over the worker's socketpair, as it does for console logs (console.c).
 * IP_FREEBIND: the socket can be bound before net-router has added the address (the
 * worker asks when zk-election says primary, which comes after net-router's ack,
 * but a bind must never depend on that ordering). The worker closes it on relinquish
 * and asks again on the next takeover: a secondary holds no listening socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#define META_ADDR "169.254.169.254"
#define META_PORT 80
#define META_BACKLOG 1024

int sup_meta_listen_socket(const char *addr, int port, int *fdout)
{
	struct sockaddr_in sa;
	int one = 1, fd, e;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, META_BACKLOG) != 0) {
		e = errno;
		close(fd);
		return e;
	}
	*fdout = fd;
	return 0;
}

void sup_meta_listen_open(struct supervisor *sv, struct child *k)
{
	struct ipc_strv_buf b;
	const uint8_t *data;
	size_t len;
	int fd = -1, err;

	if (k->role != ROLE_META)
		return;
	err = sup_meta_listen_socket(META_ADDR, META_PORT, &fd);
	if (err != 0)
		log_errx("metadata API: cannot listen on %s:%d: %s", META_ADDR, META_PORT,
			 strerror(err));
	strvb_init(&b);
	strvb_addf(&b, "%d", err);
	data = strvb_finish(&b, &len);
	if (data == NULL) {
		log_errx("metadata API socket: out of memory");
	} else if (k->chan.fd >= 0 &&
		   ipc_send(&k->chan, MSG_META_LISTEN_FD, ROLE_META, data, len, fd) == 0) {
		/* the channel holds its own duplicate until the frame is written */
		if (ipc_chan_flush(&k->chan) >= 0)
			sup_child_update_events(sv, k);
	} else {
		log_warnx("metadata API socket: cannot queue the reply");
	}
	if (fd >= 0)
		close(fd);
	strvb_free(&b);
}
