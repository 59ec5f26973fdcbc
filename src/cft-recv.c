#include "programs.h"

int main(int argc, char **argv)
{
	return recv_main(argc, argv);
}
