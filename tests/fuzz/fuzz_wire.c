/*
 * libFuzzer harness for the datagram decoder.  Every input is decoded as it
 * is, and again with its checksum resealed so that the fuzzer reaches the
 * body parsers; whatever decodes must encode back to the same bytes.  The
 * one exception is by design: a DATA whose leaf is not its payload's CRC-32
 * (resealing hid that) encodes with a checksum built from the leaf, which
 * then fails; every other byte is the same.
 */
#include <stdint.h>
#include <string.h>

#include "cft/error.h"
#include "cft/limits.h"
#include "cft/wire.h"
#include "cft/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t buf[CFT_DATAGRAM_MAX], again[CFT_DATAGRAM_MAX];
	struct wire_msg m;

	(void)wire_decode(data, len, &m);
	if (len > sizeof(buf))
		return 0;
	memcpy(buf, data, len);
	wire_reseal(buf, len);
	if (wire_decode(buf, len, &m) == 0) {
		int n = wire_encode(&m, again, sizeof(again));

		CFT_ASSERT(n == (int)len);
		if (m.type == WIRE_DATA && m.u.data.leaf != m.u.data.payload_crc) {
			struct wire_msg d;

			CFT_ASSERT(wire_decode(again, len, &d) == CFT_E_CHECKSUM);
			CFT_ASSERT(memcmp(buf, again, WIRE_CSUM_OFF) == 0);
			CFT_ASSERT(memcmp(buf + WIRE_HDR_LEN, again + WIRE_HDR_LEN,
					  len - WIRE_HDR_LEN) == 0);
		} else {
			CFT_ASSERT(memcmp(buf, again, len) == 0);
		}
	}
	return 0;
}
