/*
 * libcft-faultio: a preloadable library that makes file I/O lie, for tests
 * and for fault drills (threats 1 to 3 happen off the network).  It damages
 * or fails reads and writes of regular files, chosen by path, by count or
 * by a seeded probability, and logs every fault it injects.
 *
 *   LD_PRELOAD=build/libcft-faultio.so CFT_FAULT_READ_NTH=3 cft-send ...
 *
 * Environment (all optional):
 *   CFT_FAULT_PATH=STR        only files whose path contains STR
 *   CFT_FAULT_THREAD=STR      only reads and writes by threads whose name
 *                             contains STR (cft-send-feed, cft-send-vread,
 *                             cft-recv-write, ...): counted apart from the
 *                             others, so "the Nth" means the Nth of theirs;
 *                             =STR: only a thread named exactly STR (=cft-send:
 *                             the sender's event loop, whose reads of the
 *                             source are the chunks it repairs)
 *   CFT_FAULT_SEED=N          seed for the probabilities and bit positions (1)
 *   CFT_FAULT_READ_NTH=N      damage the Nth read (pread/read), from 1
 *   CFT_FAULT_READ_P=P        damage each read with probability P (0..1)
 *   CFT_FAULT_READ_ERRNO=E    fail those reads with EIO instead
 *   CFT_FAULT_READ_DELAY_MS=N every read takes N ms longer (a slow disk)
 *   CFT_FAULT_WRITE_NTH=N     damage the Nth write (pwrite/write)
 *   CFT_FAULT_WRITE_P=P       damage each write with probability P
 *   CFT_FAULT_WRITE_ALL=1     damage every write
 *   CFT_FAULT_WRITE_ERRNO=E   fail those writes with E (EIO or ENOSPC) instead
 *   CFT_FAULT_KILL_READ_NTH=N   die (SIGKILL) at the Nth read: a crash
 *   CFT_FAULT_KILL_WRITE_NTH=N  die at the Nth write
 *   CFT_FAULT_KILL_RENAME=before|after  die around the first renameat()
 *   CFT_FAULT_RESOLVE=NAME=ADDR,...  NAME resolves to these addresses
 *   CFT_FAULT_AVAIL=BYTES     fstatvfs() says this much is free, whatever
 *                             else writes to the same file system meanwhile
 *   CFT_FAULT_LOG=FILE        append one line per fault
 *
 * Damage is one bit flipped at a position drawn from the seed: in the
 * caller's buffer after a read (what a bad disk or a bad copy returns), in
 * a private copy before a write (what a buffering bug or a memory error
 * writes).  Counting is per process, across its threads.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);

static unsigned long reads, writes;
static __thread int busy;	/* our own logging must not recurse */

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t draw(unsigned long n, unsigned k)
{
	const char *s = getenv("CFT_FAULT_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 10) : 1;

	return mix(mix(seed) ^ ((uint64_t)k << 56) ^ n);
}

static int matches(int fd)
{
	const char *want = getenv("CFT_FAULT_PATH"), *thread = getenv("CFT_FAULT_THREAD");
	char link[64], path[PATH_MAX], name[17] = "";
	struct stat st;
	ssize_t n;

	if (thread && (prctl(PR_GET_NAME, name) < 0 ||
		       (*thread == '=' ? strcmp(name, thread + 1) != 0 : !strstr(name, thread))))
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (!want)
		return 1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strstr(path, want) != NULL;
}

/* Should operation number n of this kind be hit? */
static int chosen(const char *kind, unsigned long n)
{
	char name[64];
	const char *v;

	snprintf(name, sizeof(name), "CFT_FAULT_%s_ALL", kind);
	if ((v = getenv(name)) && *v == '1')
		return 1;
	snprintf(name, sizeof(name), "CFT_FAULT_%s_NTH", kind);
	if ((v = getenv(name)) && strtoul(v, NULL, 10) == n)
		return 1;
	snprintf(name, sizeof(name), "CFT_FAULT_%s_P", kind);
	if ((v = getenv(name))) {
		double p = strtod(v, NULL);
		return (double)(draw(n, kind[0]) >> 11) / 9007199254740992.0 < p;
	}
	return 0;
}

static int fail_errno(const char *kind)
{
	char name[64];
	const char *v;

	snprintf(name, sizeof(name), "CFT_FAULT_%s_ERRNO", kind);
	v = getenv(name);
	if (!v)
		return 0;
	if (strcmp(v, "ENOSPC") == 0)
		return ENOSPC;
	if (strcmp(v, "EDQUOT") == 0)
		return EDQUOT;
	return EIO;
}

static void note(const char *what, unsigned long n, off_t off, const char *detail)
{
	const char *path = getenv("CFT_FAULT_LOG");
	FILE *f;

	if (!path)
		return;
	busy++;
	if ((f = fopen(path, "a"))) {
		fprintf(f, "%s %lu offset %lld %s\n", what, n, (long long)off, detail);
		fclose(f);
	}
	busy--;
}

/* A crash at a chosen point: the process dies as a power cut would end it. */
static void maybe_die(const char *var, unsigned long n, const char *what, off_t off)
{
	const char *v = getenv(var);

	if (v && strtoul(v, NULL, 10) == n) {
		note(what, n, off, "SIGKILL");
		raise(SIGKILL);
	}
}

static ssize_t do_read(int fd, void *buf, size_t len, off_t off, int positional,
		       pread_fn real_p, read_fn real_r)
{
	ssize_t r;
	unsigned long n;
	int e;

	if (busy || !matches(fd))
		return positional ? real_p(fd, buf, len, off) : real_r(fd, buf, len);
	n = __atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	maybe_die("CFT_FAULT_KILL_READ_NTH", n, "read", off);
	if (getenv("CFT_FAULT_READ_DELAY_MS"))
		usleep((useconds_t)strtoul(getenv("CFT_FAULT_READ_DELAY_MS"), NULL, 10) * 1000);
	if (!chosen("READ", n))
		return positional ? real_p(fd, buf, len, off) : real_r(fd, buf, len);
	if ((e = fail_errno("READ"))) {
		note("read", n, off, "failed");
		errno = e;
		return -1;
	}
	r = positional ? real_p(fd, buf, len, off) : real_r(fd, buf, len);
	if (r > 0) {
		char detail[64];
		uint64_t bit = draw(n, 'b') % ((uint64_t)r * 8);

		((unsigned char *)buf)[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		snprintf(detail, sizeof(detail), "bit %llu flipped", (unsigned long long)bit);
		note("read", n, off, detail);
	}
	return r;
}

static ssize_t do_write(int fd, const void *buf, size_t len, off_t off, int positional,
			pwrite_fn real_p, write_fn real_w)
{
	unsigned long n;
	unsigned char *copy;
	ssize_t r;
	int e;

	if (busy || len == 0 || !matches(fd))
		return positional ? real_p(fd, buf, len, off) : real_w(fd, buf, len);
	n = __atomic_add_fetch(&writes, 1, __ATOMIC_RELAXED);
	maybe_die("CFT_FAULT_KILL_WRITE_NTH", n, "write", off);
	if (!chosen("WRITE", n))
		return positional ? real_p(fd, buf, len, off) : real_w(fd, buf, len);
	if ((e = fail_errno("WRITE"))) {
		note("write", n, off, e == ENOSPC ? "failed ENOSPC" : "failed");
		errno = e;
		return -1;
	}
	/* Aligned as the caller's may need to be: a write through O_DIRECT
	 * refuses a buffer that is not. */
	if (posix_memalign((void **)&copy, 4096, len) != 0)
		return positional ? real_p(fd, buf, len, off) : real_w(fd, buf, len);
	memcpy(copy, buf, len);
	uint64_t bit = draw(n, 'w') % ((uint64_t)len * 8);
	copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	{
		char detail[64];
		snprintf(detail, sizeof(detail), "bit %llu flipped", (unsigned long long)bit);
		note("write", n, off, detail);
	}
	r = positional ? real_p(fd, copy, len, off) : real_w(fd, copy, len);
	free(copy);
	return r;
}

#define REAL(type, name) \
	static type real_##name; \
	if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	REAL(pread_fn, pread);
	return do_read(fd, buf, len, off, 1, real_pread, NULL);
}

ssize_t pread64(int fd, void *buf, size_t len, off_t off)
{
	REAL(pread_fn, pread64);
	return do_read(fd, buf, len, off, 1, real_pread64, NULL);
}

ssize_t read(int fd, void *buf, size_t len)
{
	REAL(read_fn, read);
	return do_read(fd, buf, len, -1, 0, NULL, real_read);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite_fn, pwrite);
	return do_write(fd, buf, len, off, 1, real_pwrite, NULL);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite_fn, pwrite64);
	return do_write(fd, buf, len, off, 1, real_pwrite64, NULL);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write_fn, write);
	return do_write(fd, buf, len, -1, 0, NULL, real_write);
}

typedef int (*renameat_fn)(int, const char *, int, const char *);

int renameat(int ofd, const char *old, int nfd, const char *new)
{
	const char *when = getenv("CFT_FAULT_KILL_RENAME");
	int r;

	REAL(renameat_fn, renameat);
	/* Only the commit of a received file: state files are renamed too. */
	if (!when || strstr(old, ".state"))
		return real_renameat(ofd, old, nfd, new);
	if (strcmp(when, "before") == 0) {
		note("rename", 1, 0, "SIGKILL before");
		raise(SIGKILL);
	}
	r = real_renameat(ofd, old, nfd, new);
	if (strcmp(when, "after") == 0) {
		note("rename", 1, 0, "SIGKILL after");
		raise(SIGKILL);
	}
	return r;
}

/*
 * CFT_FAULT_RESOLVE=NAME=ADDR,ADDR...: the name resolves to these numeric
 * addresses, in this order (a host whose name has an address where nothing
 * listens, before the one where the receiver is), whatever /etc/hosts says.
 */
typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	const char *spec = getenv("CFT_FAULT_RESOLVE");
	size_t nlen = node ? strlen(node) : 0;
	struct addrinfo **tail = res, num;
	char list[256], *save = NULL;

	REAL(getaddrinfo_fn, getaddrinfo);
	if (!spec || !node || strncmp(spec, node, nlen) != 0 || spec[nlen] != '=' ||
	    strlen(spec + nlen + 1) >= sizeof(list))
		return real_getaddrinfo(node, service, hints, res);
	strcpy(list, spec + nlen + 1);
	num = hints ? *hints : (struct addrinfo){ 0 };
	num.ai_flags |= AI_NUMERICHOST;
	*res = NULL;
	for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
		int rc = real_getaddrinfo(a, service, &num, tail);

		if (rc != 0)
			return rc;
		while (*tail)
			tail = &(*tail)->ai_next;
	}
	note("resolve", 1, 0, spec);
	return *res ? 0 : EAI_NONAME;
}

/*
 * The free space of a file system is shared with every other process on
 * the host: a test of limits on it (cft-recv --reserve) reads what is free
 * at one moment and the receiver at the next.  Told here, it holds still.
 */
typedef int (*fstatvfs_fn)(int, struct statvfs *);

static int avail_said(int rc, struct statvfs *v)
{
	const char *s = getenv("CFT_FAULT_AVAIL");

	if (rc == 0 && s && v->f_frsize > 0)
		v->f_bavail = v->f_bfree = (fsblkcnt_t)(strtoull(s, NULL, 10) / v->f_frsize);
	return rc;
}

int fstatvfs(int fd, struct statvfs *v)
{
	REAL(fstatvfs_fn, fstatvfs);
	return avail_said(real_fstatvfs(fd, v), v);
}
