#include "programs.h"

int main(int argc, char **argv)
{
	return shim_main(argc, argv);
}
