/* SHA-256, CRC-32 and randomness, via OpenSSL libcrypto and zlib. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cft/digest.h"
#include "cft/error.h"
#include "cft/check.h"

struct digest_ctx {
	EVP_MD_CTX *md;
};

/*
 * SHA-256, fetched from OpenSSL's providers once.  EVP_sha256() in every
 * EVP_DigestInit_ex would look it up again, under a lock, for each of the
 * hundreds of thousands of tags of a transfer.
 */
static EVP_MD *sha256(void)
{
	static EVP_MD *md;

	if (!md)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	CFT_ASSERT(md);
	return md;
}

struct digest_ctx *digest_new(void)
{
	struct digest_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md) {
		free(c);
		return NULL;
	}
	digest_reset(c);
	return c;
}

void digest_free(struct digest_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

/* The EVP calls below fail only on allocation failure or a broken OpenSSL;
 * neither is a peer's doing, so they are our invariants. */
void digest_reset(struct digest_ctx *c)
{
	CFT_ASSERT(EVP_DigestInit_ex2(c->md, sha256(), NULL) == 1);
}

void digest_update(struct digest_ctx *c, const void *p, size_t n)
{
	CFT_ASSERT(EVP_DigestUpdate(c->md, p, n) == 1);
}

void digest_final(struct digest_ctx *c, uint8_t out[CFT_DIGEST_LEN])
{
	unsigned int len = 0;

	CFT_ASSERT(EVP_DigestFinal_ex(c->md, out, &len) == 1);
	CFT_ASSERT(len == CFT_DIGEST_LEN);
}

void digest_sha256(const void *p, size_t n, uint8_t out[CFT_DIGEST_LEN])
{
	const struct digest_part part = { p, n };

	digest_sha256_parts(&part, 1, out, CFT_DIGEST_LEN);
}

void digest_sha256_parts(const struct digest_part *parts, size_t nparts, uint8_t *out,
			 size_t len)
{
	static EVP_MD_CTX *md;
	uint8_t full[CFT_DIGEST_LEN];
	unsigned int n = 0;

	if (!md)
		md = EVP_MD_CTX_new();
	CFT_ASSERT(md && len <= CFT_DIGEST_LEN);
	CFT_ASSERT(EVP_DigestInit_ex2(md, sha256(), NULL) == 1);
	for (size_t i = 0; i < nparts; i++)
		CFT_ASSERT(EVP_DigestUpdate(md, parts[i].p, parts[i].n) == 1);
	CFT_ASSERT(EVP_DigestFinal_ex(md, full, &n) == 1);
	CFT_ASSERT(n == CFT_DIGEST_LEN);
	memcpy(out, full, len);
}

int digest_equal_n(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void digest_hex(const uint8_t d[CFT_DIGEST_LEN], char out[2 * CFT_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < CFT_DIGEST_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[2 * CFT_DIGEST_LEN] = '\0';
}

int digest_equal(const uint8_t a[CFT_DIGEST_LEN], const uint8_t b[CFT_DIGEST_LEN])
{
	return CRYPTO_memcmp(a, b, CFT_DIGEST_LEN) == 0;
}

uint32_t digest_crc32(const void *p, size_t n)
{
	return digest_crc32_update((uint32_t)crc32(0L, Z_NULL, 0), p, n);
}

uint32_t digest_crc32_update(uint32_t crc0, const void *p, size_t n)
{
	uLong crc = crc0;

	/* zlib takes uInt lengths; datagrams are far below that, but be exact. */
	while (n > 0) {
		uInt part = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = crc32(crc, p, part);
		p = (const uint8_t *)p + part;
		n -= part;
	}
	return (uint32_t)crc;
}

uint32_t digest_crc32_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b)
{
	/* Nearly every combination is over one of a few lengths (a full
	 * chunk, a DATA's fields): their operators, made once per thread,
	 * make combining a few multiplications instead of a search. */
	static _Thread_local struct {
		size_t len;
		uLong op;
	} ops[4];
	static _Thread_local unsigned next;
	const unsigned kept = sizeof(ops) / sizeof(ops[0]);
	unsigned i;

	for (i = 0; i < kept; i++)
		if (ops[i].len == len_b && len_b > 0)
			return (uint32_t)crc32_combine_op(crc_a, crc_b, ops[i].op);
	if (len_b > (size_t)INT32_MAX)
		return (uint32_t)crc32_combine64(crc_a, crc_b, (z_off64_t)len_b);
	i = next++ % kept;
	ops[i].op = crc32_combine_gen((z_off_t)len_b);
	ops[i].len = len_b;
	return (uint32_t)crc32_combine_op(crc_a, crc_b, ops[i].op);
}

void digest_hmac(const uint8_t *key, size_t key_len, const void *p, size_t n,
		 uint8_t out[CFT_DIGEST_LEN])
{
	unsigned len = CFT_DIGEST_LEN;

	if (key_len > INT32_MAX || !HMAC(EVP_sha256(), key, (int)key_len, p, n, out, &len))
		abort();	/* SHA-256 in libcrypto: cannot fail short of memory */
}

int digest_random(void *p, size_t n)
{
	if (n > INT32_MAX || RAND_bytes(p, (int)n) != 1)
		return CFT_E_IO;
	return 0;
}
