/*
 * fuzz_headers.c - libFuzzer harness for the header-value parsers and the
 * status tables: Retry-After (seconds or HTTP date), retry-after-ms,
 * x-should-retry, X-Request-Id copying. Aborts when an invariant breaks.
 */
#include "zavu_core.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1), small[16], big[128];
    double secs;
    long status;
    size_t i;

    memcpy(v, data, size);
    v[size] = '\0';

    secs = zavu_parse_retry_after(v, 1700000000L);
    CHECK(secs == -1 || (isfinite(secs) && secs >= 0));
    secs = zavu_parse_retry_after_ms(v);
    CHECK(secs == -1 || (isfinite(secs) && secs >= 0));
    CHECK(zavu_parse_should_retry(v) >= -1 && zavu_parse_should_retry(v) <= 1);

    zavu_copy_header_value(small, sizeof small, v);
    zavu_copy_header_value(big, sizeof big, v);
    CHECK(strlen(small) < sizeof small && strlen(big) < sizeof big);
    for (i = 0; big[i]; i++)
        CHECK((unsigned char)big[i] >= 0x20 && big[i] != 0x7f);

    status = size >= 2 ? (long)(data[0] | data[1] << 8) % 1000 : 0;
    CHECK(zavu_code_for_status(status)[0] != '\0');
    CHECK(zavu_message_for_status(status, NULL, small, sizeof small)[0] != '\0');
    CHECK(strlen(zavu_message_for_status(status, v, small, sizeof small)) < sizeof small);
    CHECK(zavu_status_is_retryable(status, -1) >= 0);
    secs = zavu_backoff(size ? data[0] : 0, size > 1 ? data[1] / 256.0 : 0);
    CHECK(secs > 0 && secs <= 8);
    free(v);
    return 0;
}
