/* cft genkey: a new pre-shared key, for --key on both ends (seal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cft/digest.h"
#include "cft/exit.h"
#include "cft/limits.h"
#include "cft/seal.h"
#include "programs.h"

/* Write all of buf to fd; 0 or -1 (errno). */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int genkey_main(int argc, char **argv)
{
	uint8_t key[CFT_KEY_LEN];
	char line[SEAL_KEY_TEXT_LEN + 2];
	struct stat st;
	int fd = STDOUT_FILENO, rc = CFT_EXIT_OK;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		fprintf(help ? stdout : stderr,
			"usage: cft genkey [FILE]\n"
			"Print a new key for cft-send --key and cft-recv --key, or write it\n"
			"to FILE (created, mode 0600; an existing FILE is left alone).\n"
			"Copy it to the other host by a channel you trust.  See cft(1).\n");
		return help ? CFT_EXIT_OK : CFT_EXIT_USAGE;
	}
	if (digest_random(key, sizeof(key)) < 0) {
		fprintf(stderr, "cft genkey: no randomness\n");
		return CFT_EXIT_LOCAL;
	}
	seal_key_text(key, line);
	memset(key, 0, sizeof(key));
	strcat(line, "\n");
	if (argc == 2) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			fprintf(stderr, "cft genkey: %s: %s\n", argv[1], strerror(errno));
			return CFT_EXIT_LOCAL;
		}
	} else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		/* Redirected to a file others may read: --key will refuse it. */
		fprintf(stderr, "cft genkey: warning: the file this goes to is open to group or "
			"others; --key refuses it until it is chmod 600 "
			"(or: umask 077; cft genkey > FILE)\n");
	}
	if (write_all(fd, line, strlen(line)) < 0 || (argc == 2 && fsync(fd) < 0)) {
		fprintf(stderr, "cft genkey: %s: %s\n", argc == 2 ? argv[1] : "standard output",
			strerror(errno));
		rc = CFT_EXIT_LOCAL;
	}
	memset(line, 0, sizeof(line));
	if (argc == 2 && close(fd) < 0 && rc == CFT_EXIT_OK) {
		fprintf(stderr, "cft genkey: %s: %s\n", argv[1], strerror(errno));
		rc = CFT_EXIT_LOCAL;
	}
	return rc;
}
