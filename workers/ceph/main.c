/* main.c: pvc-ceph, the program of the ceph worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_CEPH, argc, argv, ceph_main);
}
