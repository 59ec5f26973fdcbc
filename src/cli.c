/* Command-line habits shared by the programs. */
#include "cft/exit.h"
#include "cft/util.h"
#include "cli.h"

void cli_bad_option(int optopt, char **argv, int optind)
{
	if (optopt)
		log_error("option -%c: unknown, or missing its argument", optopt);
	else
		log_error("option '%s': unknown, or missing its argument", argv[optind - 1]);
}

int cli_verbosity(int quiet, int verbose)
{
	if (quiet && verbose) {
		log_error("--quiet and --verbose contradict each other");
		return CFT_EXIT_USAGE;
	}
	log_level = quiet ? -1 : verbose;
	return 0;
}
