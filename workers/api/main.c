/* main.c: pvc-api-units, the program of the api-units worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_API, argc, argv, api_units_main);
}
