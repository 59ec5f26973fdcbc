/* Command-line habits shared by the programs, so that they agree. */
#ifndef CFT_CLI_H
#define CFT_CLI_H

/* Report an option getopt_long refused (optopt, or the word at argv[optind-1]). */
void cli_bad_option(int optopt, char **argv, int optind);

/* Set log_level from -q and -v; returns 0, or CFT_EXIT_USAGE (with a
 * message) when both are given. */
int cli_verbosity(int quiet, int verbose);

#endif
