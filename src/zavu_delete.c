/*
 * zavu_delete.c - one delete, the hot path: the reused easy handle set up
 * for it, then zavu_perform's attempts (zavu_request.c). No Lua here.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_internal.h"

int zavu_delete_session(zavu_client *c, const char *id, size_t id_len, const zavu_call *call,
                        zavu_result *res)
{
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
    if (c->easy_is_generic) { /* back from another request's method and headers */
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
        c->easy_is_generic = 0;
    }
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    return zavu_perform(c, "DELETE", call, 0, res);
}
