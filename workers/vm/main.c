/* main.c: pvc-vm-manager, the program of the vm-manager worker, started only by pvcnoded. */
#include "worker.h"

int main(int argc, char **argv)
{
	return worker_program_main(ROLE_VM, argc, argv, vm_manager_main);
}
