/*
 * Thin wrappers over OpenSSL (SHA-256, random bytes) and zlib (CRC-32).
 * Nothing else in cft includes openssl/ or zlib.h, but the seal (seal.h:
 * the AEAD and HKDF of keys) and squash (squash.h: compression, -z).
 */
#ifndef CFT_DIGEST_H
#define CFT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "cft/limits.h"

struct digest_ctx;	/* an incremental SHA-256 */

/* New context, or NULL when out of memory.  Free with digest_free. */
struct digest_ctx *digest_new(void);
void digest_free(struct digest_ctx *c);
/* Restart c for a new message. */
void digest_reset(struct digest_ctx *c);
void digest_update(struct digest_ctx *c, const void *p, size_t n);
/* Finish into out; c must be reset before it is used again. */
void digest_final(struct digest_ctx *c, uint8_t out[CFT_DIGEST_LEN]);

/* One-shot SHA-256 of p[0..n). */
void digest_sha256(const void *p, size_t n, uint8_t out[CFT_DIGEST_LEN]);

/* One piece of a message digested in parts. */
struct digest_part {
	const void *p;
	size_t n;
};

/*
 * SHA-256 of the concatenation of parts[0..nparts), keeping the first `len`
 * bytes (at most CFT_DIGEST_LEN) in out.  One context is kept and reused, so
 * the millions of small digests of a transfer (one per chunk) allocate
 * nothing.  Not for use from two threads at once.
 */
void digest_sha256_parts(const struct digest_part *parts, size_t nparts, uint8_t *out,
			 size_t len);

/* Constant-time equality of the first len bytes of a and b. */
int digest_equal_n(const uint8_t *a, const uint8_t *b, size_t len);

/* Lower-case hex, as sha256sum prints it; out holds 2*CFT_DIGEST_LEN+1. */
void digest_hex(const uint8_t d[CFT_DIGEST_LEN], char out[2 * CFT_DIGEST_LEN + 1]);

/* Constant-time equality of two digests. */
int digest_equal(const uint8_t a[CFT_DIGEST_LEN], const uint8_t b[CFT_DIGEST_LEN]);

/* CRC-32 (ISO-HDLC, as zlib and gzip compute it) of p[0..n). */
uint32_t digest_crc32(const void *p, size_t n);
/* Continue a CRC-32 over more bytes. */
uint32_t digest_crc32_update(uint32_t crc, const void *p, size_t n);
/* The CRC-32 of A followed by B, from the CRC-32 of each and B's length:
 * a datagram's checksum from its header's and its payload's, the payload's
 * computed once, when it was read. */
uint32_t digest_crc32_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b);

/* Fill p with n cryptographically random bytes.  Returns 0 or CFT_E_IO. */
int digest_random(void *p, size_t n);
/* HMAC-SHA-256 of p under key. */
void digest_hmac(const uint8_t *key, size_t key_len, const void *p, size_t n,
		 uint8_t out[CFT_DIGEST_LEN]);

#endif
