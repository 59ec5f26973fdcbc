/* Digests against published known-answer vectors. */
#include <criterion/criterion.h>
#include <string.h>

#include "cft/digest.h"

static void hex_of(const void *p, size_t n, char out[65])
{
	uint8_t d[CFT_DIGEST_LEN];

	digest_sha256(p, n, d);
	digest_hex(d, out);
}

Test(digest, sha256_known_answers)
{
	char hex[65];

	/* FIPS 180-2 examples. */
	hex_of("", 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(two, strlen(two), hex);
	cr_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(digest, incremental_equals_one_shot)
{
	static uint8_t data[100000];
	uint8_t a[CFT_DIGEST_LEN], b[CFT_DIGEST_LEN];
	struct digest_ctx *c = digest_new();

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	digest_sha256(data, sizeof(data), a);
	for (size_t off = 0; off < sizeof(data); off += 999)
		digest_update(c, data + off, sizeof(data) - off < 999 ? sizeof(data) - off : 999);
	digest_final(c, b);
	cr_assert(digest_equal(a, b));
	b[31] ^= 1;
	cr_assert_not(digest_equal(a, b));
	/* Reset gives a fresh digest: "abc" again. */
	digest_reset(c);
	digest_update(c, "abc", 3);
	digest_final(c, a);
	char hex[65];
	digest_hex(a, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_free(c);
}

Test(digest, crc32_check_value)
{
	/* The CRC catalogue's check value for CRC-32/ISO-HDLC. */
	cr_assert_eq(digest_crc32("123456789", 9), 0xCBF43926u);
	cr_assert_eq(digest_crc32_update(digest_crc32("1234", 4), "56789", 5), 0xCBF43926u);
	cr_assert_eq(digest_crc32_combine(digest_crc32("1234", 4), digest_crc32("56789", 5), 5),
		     0xCBF43926u);
	{
		static uint8_t a[100], b[CFT_CHUNK_SIZE], ab[sizeof(a) + sizeof(b)];

		for (size_t i = 0; i < sizeof(ab); i++)
			ab[i] = (uint8_t)(i * 13);
		memcpy(a, ab, sizeof(a));
		memcpy(b, ab + sizeof(a), sizeof(b));
		cr_assert_eq(digest_crc32_combine(digest_crc32(a, sizeof(a)),
						  digest_crc32(b, sizeof(b)), sizeof(b)),
			     digest_crc32(ab, sizeof(ab)), "a full chunk's operator");
	}
	cr_assert_eq(digest_crc32("", 0), 0u);
}

/* Combining keeps the operators of the last few lengths: lengths taking
 * turns, more of them than it keeps, must each combine right. */
Test(digest, crc32_combine_over_lengths_taking_turns)
{
	static uint8_t ab[3000];
	const size_t lens[] = { CFT_CHUNK_SIZE, 20, 1, 1399, 20, 7, 2999, CFT_CHUNK_SIZE, 20, 1 };

	for (size_t i = 0; i < sizeof(ab); i++)
		ab[i] = (uint8_t)(i * 31 + 7);
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t b = lens[i], a = sizeof(ab) - b;

			cr_assert_eq(digest_crc32_combine(digest_crc32(ab, a),
							  digest_crc32(ab + a, b), b),
				     digest_crc32(ab, sizeof(ab)), "pass %d, length %zu", pass, b);
		}
	}
}

Test(digest, random_differs)
{
	uint64_t a = 0, b = 0;

	cr_assert_eq(digest_random(&a, sizeof(a)), 0);
	cr_assert_eq(digest_random(&b, sizeof(b)), 0);
	cr_assert_neq(a, b);
}
