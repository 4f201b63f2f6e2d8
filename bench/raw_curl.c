/*
 * raw_curl.c - the practical ceiling: a plain C loop sending the requests the
 * module sends (DELETE, the same headers byte for byte, one reused easy
 * handle, a fresh URL per id), with nothing else around it.
 *   raw_curl <base-url> <count> <user-agent> [ca-file]
 * Prints "<seconds> <ok-count>" for the loop alone, as bench/clients.lua does,
 * after the same 100 untimed warm-up deletes (connection up, caches warm).
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char *d, size_t s, size_t n, void *u) { (void)d; (void)u; return s * n; }

int main(int argc, char **argv)
{
    char url[512];
    struct timespec t0, t1;
    long i, n, status, ok = 0;
    struct curl_slist *h = NULL;
    CURL *e;

    if (argc < 4)
        return fprintf(stderr, "usage: raw_curl <base-url> <count> <user-agent> [ca-file]\n"), 2;
    n = atol(argv[2]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    h = curl_slist_append(h, "Authorization: Bearer zv_live_bench");
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, argv[3]); /* libcurl formats it per request */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    if (argc > 4)
        curl_easy_setopt(e, CURLOPT_CAINFO, argv[4]);
    for (i = 0; i < 100; i++) {
        snprintf(url, sizeof url, "%s/v1/whatsapp-alt/sessions/warm-%ld", argv[1], i);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_perform(e);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        snprintf(url, sizeof url, "%s/v1/whatsapp-alt/sessions/bench-%ld", argv[1], i);
        curl_easy_setopt(e, CURLOPT_URL, url);
        if (curl_easy_perform(e) == CURLE_OK &&
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 204)
            ok++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    curl_global_cleanup();
    printf("%.6f %ld\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, ok);
    return ok == n ? 0 : 1;
}
