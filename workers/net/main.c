/* main.c: pvc-net-router, the program of the net-router worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_NET, argc, argv, net_router_main);
}
