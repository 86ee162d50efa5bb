/* main.c: pvc-zk-election, the program of the zk-election worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_ZK, argc, argv, zk_election_main);
}
