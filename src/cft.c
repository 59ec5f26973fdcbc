/* cft: the front command.  Subcommands come from one table, which also
 * prints the help, so the two cannot disagree. */
#include <stdio.h>
#include <string.h>

#include "cft/exit.h"
#include "cft/limits.h"
#include "programs.h"
#include "cft/version.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "send", send_main, "send files to a receiver, verified end to end (cft-send)" },
	{ "recv", recv_main, "receive files into a directory (cft-recv)" },
	{ "shim", shim_main, "relay UDP with reproducible faults (cft-shim)" },
	{ "genkey", genkey_main, "print a new key for --key on both ends" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: cft COMMAND [ARGS]...\n"
		     "cft moves files over UDP and proves every byte arrived on disk.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-7s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n'cft COMMAND --help' for a command's options; cft(1) for more.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CFT_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CFT_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("cft %s (protocol %d)\n", CFT_VERSION, CFT_PROTO_VERSION);
		return CFT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cft: '%s' is not a command\n", argv[1]);
	usage(stderr);
	return CFT_EXIT_USAGE;
}
