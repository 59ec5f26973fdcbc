#include "programs.h"

int main(int argc, char **argv)
{
	return send_main(argc, argv);
}
