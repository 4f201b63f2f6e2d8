/*
 * fuzz_url.c - libFuzzer harness for what turns caller input into a request
 * target: base URL checks, the loopback test, id and key checks, and the URL
 * join. The first byte splits the input into base URL and session id.
 * Invariant: the id always lands as exactly one path segment that decodes
 * back to the id, after the base URL with no doubled slash.
 */
#include "zavu_core.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
static const char PATH[] = "/v1/whatsapp-alt/sessions/";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t split, base_len, id_len, prefix;
    char *base, *id, *url = NULL, *segment, *decoded, why[256] = "";
    const char *why_key;
    size_t cap = 0, i;
    int decoded_len;

    if (size < 1)
        return 0;
    split = 1 + data[0] % (size);
    base_len = split - 1;
    id_len = size - split;
    base = malloc(base_len + 1);
    id = malloc(id_len + 1);
    memcpy(base, data + 1, base_len);
    base[base_len] = '\0';
    memcpy(id, data + split, id_len);
    id[id_len] = '\0';

    zavu_check_base_url(base, data[0] & 1, why, sizeof why);
    CHECK(strlen(why) < sizeof why);
    zavu_is_loopback_host(base);
    zavu_check_api_key(id, &why_key);
    zavu_check_id(id, id_len);

    CHECK(zavu_session_url(base, id, id_len, &url, &cap) == 0);
    CHECK(strlen(url) + 1 <= cap);
    prefix = strlen(base);
    while (prefix > 0 && base[prefix - 1] == '/')
        prefix--;
    CHECK(strncmp(url, base, prefix) == 0);
    CHECK(strncmp(url + prefix, PATH, sizeof PATH - 1) == 0);
    segment = url + prefix + sizeof PATH - 1;
    for (i = 0; segment[i]; i++)
        CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%", segment[i]));
    decoded = curl_easy_unescape(NULL, segment, 0, &decoded_len);
    CHECK(decoded && (size_t)decoded_len == id_len && memcmp(decoded, id, id_len) == 0);
    curl_free(decoded);
    /* Reusing the buffer for a second, shorter URL works as well. */
    CHECK(zavu_session_url("https://h", "x", 1, &url, &cap) == 0);
    CHECK(strcmp(url, "https://h/v1/whatsapp-alt/sessions/x") == 0);
    free(url);
    free(base);
    free(id);
    return 0;
}
