/*
 * libFuzzer harness for the datagram decoder.  Every input is decoded as it
 * is, and again with its checksum resealed so that the fuzzer reaches the
 * body parsers; whatever decodes must encode back to the same bytes.
 */
#include <stdint.h>
#include <string.h>

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
		CFT_ASSERT(memcmp(buf, again, len) == 0);
	}
	return 0;
}
