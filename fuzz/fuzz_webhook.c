/*
 * fuzz_webhook.c - libFuzzer harness for the webhook verifier
 * (src/zavu_webhook.c). The input is "HEADER\nSECRET\nBODY" after 5 control
 * bytes (a time, the schemes). Any header is parsed and verified without a
 * crash, with a status from the list and a message that never holds the
 * secret; what sign() makes verifies, under each scheme, with the hex in
 * either case and the secret anywhere in a list; a changed body, a changed
 * t (v2), a clock outside the window, another secret and require_v2 (v1
 * only) are refused. The other secret is a fixed one, so that "the message
 * never holds it" cannot be broken by a secret that is a word of a message.
 * Verification goes through one HMAC context kept for the whole run, keyed
 * afresh by every input (as a Lua state keeps one), signing through a
 * context made per call: what one keyed makes, the other must check, and the
 * kept one gives every header the answer a fresh one gives.
 * Aborts when an invariant breaks.
 */
#include "zavu_webhook.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
    do { \
        if (!(cond)) \
            abort(); \
    } while (0)

static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));
    *len = (size_t)((nl ? nl : end) - start);
    *p = nl ? nl + 1 : end;
    return start;
}

static const char OTHER_SECRET[] = "whsec_Zq7-other-secret";

/* For the whole run: reachable until exit, so never a leak. */
static zavu_webhook_mac *kept;

/* The message is a NUL-terminated sentence without the other secret. */
static void check_message(const zavu_webhook_result *res)
{
    size_t len = strnlen(res->message, sizeof res->message);
    CHECK(len < sizeof res->message);
    CHECK((res->status == ZAVU_WEBHOOK_OK) == (len == 0));
    CHECK(strstr(res->message, OTHER_SECRET) == NULL);
    CHECK(strstr(res->message, OTHER_SECRET + 6) == NULL);
}

static zavu_webhook_status verify_at(const char *body, size_t body_len, const char *header,
                                     const zavu_webhook_secret *secrets, size_t n, double now,
                                     int require_v2, zavu_webhook_result *res)
{
    zavu_webhook_check check = {now, ZAVU_WEBHOOK_TOLERANCE, ZAVU_WEBHOOK_FUTURE, require_v2};
    return zavu_webhook_verify(kept, body, body_len, header, strlen(header), secrets, n, &check,
                               res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p, *end, *header, *secret, *body;
    size_t header_len, secret_len, body_len, i;
    zavu_webhook_header parsed;
    zavu_webhook_result res;
    zavu_webhook_secret secrets[2];
    zavu_webhook_check check;
    char signed_header[ZAVU_WEBHOOK_HEADER_MAX], changed[ZAVU_WEBHOOK_HEADER_MAX];
    char *copy;
    long long t;
    int schemes, len;
    zavu_webhook_status s;

    if (!kept)
        CHECK((kept = zavu_webhook_mac_new()) != NULL);
    if (size < 5)
        return 0;
    t = (long long)(data[1] | data[2] << 8 | data[3] << 16 | (uint32_t)data[4] << 24);
    schemes = data[0] % 3 + 1; /* v1, v2, v1+v2 */
    p = (const char *)data + 5;
    end = (const char *)data + size;
    header = next_line(&p, end, &header_len);
    secret = next_line(&p, end, &secret_len);
    body = p;
    body_len = (size_t)(end - p);
    if (secret_len == sizeof OTHER_SECRET - 1 && memcmp(secret, OTHER_SECRET, secret_len) == 0)
        return 0;
    secrets[0].key = OTHER_SECRET;
    secrets[0].len = sizeof OTHER_SECRET - 1;
    secrets[1].key = secret;
    secrets[1].len = secret_len;

    /* Any header: parsed and verified, an answer from the list. */
    s = zavu_webhook_parse(header, header_len, &parsed, &res);
    check_message(&res);
    if (s == ZAVU_WEBHOOK_OK) {
        CHECK(parsed.t && parsed.t_len > 0 && parsed.t_value >= 0);
        for (i = 0; i < parsed.t_len; i++)
            CHECK(isdigit((unsigned char)parsed.t[i]));
        CHECK(parsed.n_v1 + parsed.n_v2 >= 1);
        CHECK(parsed.n_v1 <= ZAVU_WEBHOOK_MAX_SIGS && parsed.n_v2 <= ZAVU_WEBHOOK_MAX_SIGS);
    } else {
        CHECK(s == ZAVU_WEBHOOK_MISSING_SIGNATURE || s == ZAVU_WEBHOOK_MALFORMED_SIGNATURE);
    }
    check.now = (double)t;
    check.tolerance = data[0] & 0x80 ? 1e300 : ZAVU_WEBHOOK_TOLERANCE;
    check.future = ZAVU_WEBHOOK_FUTURE;
    check.require_v2 = data[0] & 0x40;
    s = zavu_webhook_verify(kept, body, body_len, header, header_len, secrets, 2, &check, &res);
    CHECK(s >= ZAVU_WEBHOOK_OK && s <= ZAVU_WEBHOOK_SIGNATURE_MISMATCH);
    CHECK(s != ZAVU_WEBHOOK_OK || res.scheme);
    check_message(&res);
    CHECK(zavu_webhook_verify(NULL, body, body_len, header, header_len, secrets, 2, &check, &res) ==
          s);
    s = zavu_webhook_verify_tool(kept, body, body_len, header, header_len, secrets, 2, &res);
    CHECK(s >= ZAVU_WEBHOOK_OK && s <= ZAVU_WEBHOOK_SIGNATURE_MISMATCH);
    check_message(&res);
    CHECK(zavu_webhook_verify_tool(NULL, body, body_len, header, header_len, secrets, 2, &res) ==
          s);

    /* What sign makes verifies, and nothing near it does. */
    len = zavu_webhook_sign(NULL, body, body_len, secret, secret_len, t, schemes, signed_header,
                            sizeof signed_header);
    CHECK(len > 0 && (size_t)len == strlen(signed_header));
    CHECK(verify_at(body, body_len, signed_header, secrets, 2, (double)t, 0, &res) ==
          ZAVU_WEBHOOK_OK);
    CHECK(strcmp(res.scheme, schemes & ZAVU_WEBHOOK_V2 ? "v2" : "v1") == 0);
    CHECK(verify_at(body, body_len, signed_header, secrets + 1, 1, (double)t + 300, 0, &res) ==
          ZAVU_WEBHOOK_OK);
    CHECK(verify_at(body, body_len, signed_header, secrets + 1, 1, (double)t - 60, 0, &res) ==
          ZAVU_WEBHOOK_OK);
    CHECK(verify_at(body, body_len, signed_header, secrets + 1, 1, (double)t + 301, 0, &res) ==
          ZAVU_WEBHOOK_TIMESTAMP_OUT_OF_RANGE);
    CHECK(verify_at(body, body_len, signed_header, secrets + 1, 1, (double)t - 61, 0, &res) ==
          ZAVU_WEBHOOK_TIMESTAMP_OUT_OF_RANGE);
    CHECK(verify_at(body, body_len, signed_header, secrets, 1, (double)t, 0, &res) ==
          ZAVU_WEBHOOK_SIGNATURE_MISMATCH);
    CHECK(verify_at(body, body_len, signed_header, secrets + 1, 1, (double)t, 1, &res) ==
          (schemes & ZAVU_WEBHOOK_V2 ? ZAVU_WEBHOOK_OK : ZAVU_WEBHOOK_SIGNATURE_MISMATCH));
    check_message(&res);

    /* The hex in upper case verifies too. */
    memcpy(changed, signed_header, (size_t)len + 1);
    for (i = 0; changed[i]; i++)
        if (changed[i] >= 'a' && changed[i] <= 'f')
            changed[i] = (char)(changed[i] - 'a' + 'A');
    CHECK(verify_at(body, body_len, changed, secrets + 1, 1, (double)t, 0, &res) ==
          ZAVU_WEBHOOK_OK);

    /* Another body: refused. */
    copy = malloc(body_len + 1);
    memcpy(copy, body, body_len);
    copy[body_len] = 'x';
    CHECK(verify_at(copy, body_len + 1, signed_header, secrets + 1, 1, (double)t, 0, &res) ==
          ZAVU_WEBHOOK_SIGNATURE_MISMATCH);
    if (body_len > 0) {
        copy[0] ^= 1;
        CHECK(verify_at(copy, body_len, signed_header, secrets + 1, 1, (double)t, 0, &res) ==
              ZAVU_WEBHOOK_SIGNATURE_MISMATCH);
    }
    free(copy);

    /* v2 covers t: the same digests under t + 1 are refused; v1 alone does
     * not, as the contract says. */
    memcpy(changed, signed_header, (size_t)len + 1);
    changed[2] = changed[2] == '9' ? '1' : (char)(changed[2] + 1);
    s = verify_at(body, body_len, changed, secrets + 1, 1, (double)t, 0, &res);
    if (schemes & ZAVU_WEBHOOK_V2)
        CHECK(s != ZAVU_WEBHOOK_OK);

    /* A tool call's signature is the v1 digest alone. */
    if (schemes & ZAVU_WEBHOOK_V1) {
        const char *v1 = strstr(signed_header, ",v1=") + 4;
        CHECK(zavu_webhook_verify_tool(kept, body, body_len, v1, 64, secrets, 2, &res) ==
              ZAVU_WEBHOOK_OK);
    }
    return 0;
}
