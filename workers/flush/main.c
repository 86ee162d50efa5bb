/* main.c: pvc-flush, the program of the flush worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_FLUSH, argc, argv, flush_main);
}
