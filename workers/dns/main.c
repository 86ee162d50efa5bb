/* main.c: pvc-dns-aggregator, the program of the dns-aggregator worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_DNS, argc, argv, dns_aggregator_main);
}
