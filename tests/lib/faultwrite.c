/*
 * A preloadable fault for tests: flip one bit in the data of the Nth pwrite()
 * (counting from 1) that a program makes, after the data has arrived intact.
 * It models a buffering bug or a memory error on the receiving host, below
 * everything the network can check.
 *
 *   CFT_FAULT_PWRITE_NTH=N  which pwrite to damage (0 or unset: none)
 *   CFT_FAULT_PWRITE_ALL=1  damage every pwrite
 *   CFT_FAULT_LOG=FILE      append one line per fault injected
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static unsigned long calls;

static void log_fault(off_t off, size_t bit)
{
	const char *path = getenv("CFT_FAULT_LOG");
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	fprintf(f, "pwrite %lu offset %lld bit %zu flipped\n", calls, (long long)off, bit);
	fclose(f);
}

static ssize_t faulty(pwrite_fn real, int fd, const void *buf, size_t n, off_t off)
{
	const char *nth = getenv("CFT_FAULT_PWRITE_NTH");
	const char *all = getenv("CFT_FAULT_PWRITE_ALL");
	unsigned long want = nth ? strtoul(nth, NULL, 10) : 0;
	ssize_t r;

	calls++;
	if (n == 0 || !((want && calls == want) || (all && *all == '1')))
		return real(fd, buf, n, off);
	unsigned char *copy = malloc(n);
	if (!copy)
		return real(fd, buf, n, off);
	memcpy(copy, buf, n);
	size_t bit = (calls * 7919u) % (n * 8);	/* spread, but reproducible */
	copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	log_fault(off, bit);
	r = real(fd, copy, n, off);
	free(copy);
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static pwrite_fn real;

	if (!real)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	return faulty(real, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static pwrite_fn real;

	if (!real)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	return faulty(real, fd, buf, n, off);
}
