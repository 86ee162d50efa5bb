/* main.c: pvc-metadata, the program of the metadata worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_META, argc, argv, metadata_main);
}
