/* Command-line habits shared by the programs, so that they agree. */
#ifndef CFT_CLI_H
#define CFT_CLI_H

#include <stdint.h>

#include "cft/limits.h"

/* Report an option getopt_long refused (optopt, or the word at argv[optind-1]). */
void cli_bad_option(int optopt, char **argv, int optind);

/*
 * Parse the numeric option `name` (as the user wrote it, "--timeout") from
 * arg into *out: a whole number in [min, max], with a K, M or G suffix when
 * allow_suffix is set.  Returns 0, or -1 after a message naming the option,
 * the value and the range in `unit`.
 */
int cli_num(const char *name, const char *arg, long long min, long long max, int allow_suffix,
	    const char *unit, long long *out);

/* Set log_level from -q and -v; returns 0, or CFT_EXIT_USAGE (with a
 * message) when both are given. */
int cli_verbosity(int quiet, int verbose);

/* Read the key file of --key into key: 0, or CFT_EXIT_USAGE after a message
 * (unreadable, not a key, or readable by others: refused). */
int cli_key(const char *path, uint8_t key[CFT_KEY_LEN]);

#endif
