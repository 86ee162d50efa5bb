/*
 * metadata.c: load generator for the metadata API benchmark (bench/metadata.sh).
 *
 *   metadata ADDR PORT PATH CLIENTS SECONDS    closed loop (saturation)
 *   metadata ADDR PORT PATH CLIENTS burst:N    N bursts of CLIENTS simultaneous requests
 *
 * Closed loop: CLIENTS threads, each in a loop for SECONDS. Burst: CLIENTS threads
 * start one request each at the same instant (a barrier), N times, 20 ms apart: 50
 * VMs asking at once, the reference's measurement. A request is a new TCP connection
 * (as cloud-init makes one per request), "GET PATH HTTP/1.1" with Connection: close,
 * the whole answer read and its status checked for 200. Prints requests, errors,
 * requests/s and the latency percentiles (connect to last byte) in ms.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000

static struct sockaddr_in target;
static char request[512];
static double deadline;
static uint32_t *lat_us; /* shared sample array */
static size_t nlat;
static uint64_t nerr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_request(void)
{
	char buf[65536];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) != 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			got = 16; /* keep the status line, drop the rest */
	}
	buf[got] = '\0';
	close(fd);
	ok = got >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
	return ok ? 0 : -1;
}

static int bursts; /* 0: closed loop */
static pthread_barrier_t bar;

static void timed_request(void)
{
	double t = now_s();
	int rc = one_request();
	uint32_t us = (uint32_t)((now_s() - t) * 1e6);

	pthread_mutex_lock(&mu);
	if (rc != 0)
		nerr++;
	else if (nlat < MAX_SAMPLES)
		lat_us[nlat++] = us;
	pthread_mutex_unlock(&mu);
}

static void *client(void *arg)
{
	if (bursts == 0) {
		while (now_s() < deadline)
			timed_request();
		return NULL;
	}
	for (int i = 0; i < bursts; i++) {
		pthread_barrier_wait(&bar);
		timed_request();
		pthread_barrier_wait(&bar);
		if (arg != NULL) { /* thread 0 paces the bursts */
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i = (size_t)(p * (double)(nlat - 1));

	return lat_us[i] / 1000.0;
}

int main(int argc, char **argv)
{
	pthread_t th[1024];
	int clients;
	double secs, t0, elapsed;

	if (argc != 6) {
		fprintf(stderr, "usage: metadata ADDR PORT PATH CLIENTS SECONDS\n");
		return 2;
	}
	memset(&target, 0, sizeof(target));
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(argv[2]));
	clients = atoi(argv[4]);
	if (strncmp(argv[5], "burst:", 6) == 0) {
		bursts = atoi(argv[5] + 6);
		secs = bursts > 0 ? 1 : 0;
	} else {
		secs = atof(argv[5]);
	}
	if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1 || clients < 1 || clients > 1024 ||
	    secs <= 0) {
		fprintf(stderr, "metadata: bad arguments\n");
		return 2;
	}
	snprintf(request, sizeof(request),
		 "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", argv[3], argv[1]);
	lat_us = calloc(MAX_SAMPLES, sizeof(*lat_us));
	if (lat_us == NULL)
		return 1;
	if (bursts > 0 && pthread_barrier_init(&bar, NULL, (unsigned)clients) != 0)
		return 1;
	t0 = now_s();
	deadline = t0 + secs;
	for (int i = 0; i < clients; i++)
		if (pthread_create(&th[i], NULL, client, i == 0 ? (void *)&th[0] : NULL) != 0)
			return 1;
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	elapsed = now_s() - t0;
	if (nlat == 0) {
		printf("requests 0 errors %llu\n", (unsigned long long)nerr);
		return 1;
	}
	qsort(lat_us, nlat, sizeof(*lat_us), cmp_u32);
	if (bursts > 0)
		printf("%s, %d bursts of %d simultaneous clients: %zu answered 200, %llu errors; "
		       "latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
		       argv[3], bursts, clients, nlat, (unsigned long long)nerr, pct(0.50),
		       pct(0.90), pct(0.99), pct(1.0));
	else
		printf("%s, %d clients in a closed loop for %.1f s: %zu answered 200, %llu errors, "
		       "%.0f requests/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
		       argv[3], clients, elapsed, nlat, (unsigned long long)nerr,
		       (double)nlat / elapsed, pct(0.50), pct(0.90), pct(0.99), pct(1.0));
	free(lat_us);
	return 0;
}
