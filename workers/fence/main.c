/* main.c: pvc-fence, the program of the fence worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_FENCE, argc, argv, fence_main);
}
