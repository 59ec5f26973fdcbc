/* Command-line habits shared by the programs. */
#include <errno.h>
#include <string.h>

#include "cft/error.h"
#include "cft/exit.h"
#include "cft/util.h"
#include "cft/cli.h"
#include "cft/seal.h"

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

int cli_num(const char *name, const char *arg, long long min, long long max, int allow_suffix,
	    const char *unit, long long *out)
{
	int rc = util_parse_num(arg, min, max, allow_suffix, out);

	if (rc < 0) {
		log_error("%s '%s': %s (%lld to %lld %s)", name, arg, cft_strerror(rc), min, max,
			  unit);
		return -1;
	}
	return 0;
}

int cli_key(const char *path, uint8_t key[CFT_KEY_LEN])
{
	const char *why;
	int rc = seal_key_load(path, key, &why);

	if (rc == 0)
		return 0;
	if (rc == CFT_E_IO)
		log_error("--key %s: %s", path, strerror(errno));
	else
		log_error("--key %s: %s", path, why);
	return CFT_EXIT_USAGE;
}
