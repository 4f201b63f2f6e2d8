/*
 * zavu_delete.c - one delete: the reused easy handle, attempt after attempt,
 * sleeping between them as the retry policy says. No Lua here.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_internal.h"

int zavu_delete_session(zavu_client *c, const char *id, size_t id_len, const zavu_call *call,
                        zavu_result *res)
{
    int max_retries, n;
    double timeout;

    if (!zavu_prepare_call(c, id, id_len, res))
        return 0;
    if (!c->easy && !(c->easy = zavu_new_easy(c, &c->body, c->curl_error))) {
        zavu_set_error(res, "connection_error", "could not create a libcurl handle");
        return 0;
    }
    if (zavu_session_url(c->base_url, id, id_len, &c->url, &c->url_cap) != 0) {
        zavu_set_error(res, "connection_error", "out of memory");
        return 0;
    }
    timeout = call && call->timeout > 0 ? call->timeout : c->timeout;
    max_retries = call && call->max_retries >= 0 ? call->max_retries : c->max_retries;
    if (c->easy_is_generic) { /* back from another request's method and headers */
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
        c->easy_is_generic = 0;
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, zavu_ms(timeout));
    c->body.cancel_gen = zavu_cancel_count(); /* a cancel from now on ends this call */

    for (n = 0;; n++) {
        double started = c->debug ? zavu_now() : 0, wait;
        CURLcode rc;
        int again;
        zavu_buffer_reset(&c->body);
        c->curl_error[0] = '\0';
        rc = curl_easy_perform(c->easy);
        again = zavu_classify(c->easy, rc, &c->body, c->curl_error, call && call->missing_ok, res);
        res->attempts = n + 1;
        wait = again && n < max_retries ? zavu_retry_wait(c, res, n) : -1;
        if (c->debug)
            zavu_log_attempt("DELETE", c->url, res, (zavu_now() - started) * 1000, n + 1,
                             max_retries + 1, wait);
        if (wait < 0)
            break;
        zavu_sleep_since(wait, c->body.cancel_gen);
        if (zavu_cancelled_since(c->body.cancel_gen)) {
            zavu_set_cancelled(res);
            break;
        }
    }
    return res->ok;
}
