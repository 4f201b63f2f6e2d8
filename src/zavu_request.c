/*
 * zavu_request.c - any request of the API on the client's reused handle:
 * list, get, create and the rest. The single delete keeps its own shorter
 * path (zavu_delete.c), the hot one. No Lua here.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_internal.h"

#include <stdio.h>
#include <string.h>

/* A POST or a PATCH, or a DELETE with a body: what goes with a body. */
static int sends_body(const zavu_request *rq)
{
    return rq->body || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PATCH") == 0;
}

/* The client's headers for rq: JSON's with a body, none of libcurl's form
 * type for a POST without one. */
static struct curl_slist *client_headers(zavu_client *c, const zavu_request *rq)
{
    if (!sends_body(rq))
        return c->headers;
    return rq->body ? c->json_headers : c->empty_post_headers;
}

/* Point the handle at rq: method, headers, body. */
static void set_method(zavu_client *c, const zavu_request *rq)
{
    CURL *e = c->easy;
    int is_post = strcmp(rq->method, "POST") == 0;
    if (sends_body(rq)) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, is_post ? NULL : rq->method);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(rq->body ? rq->body_len : 0));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                         strcmp(rq->method, "GET") == 0 ? NULL : rq->method);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, client_headers(c, rq));
    c->easy_is_generic = 1;
}

static int local_error(zavu_result *res, const char *code, const char *message)
{
    zavu_set_error(res, code, message);
    return 0;
}

/* rq's own headers (Zavu-Sender) in front of the client's list for it, in
 * nodes the caller owns (extra[], alive until the transfer ends: libcurl
 * reads the list, never copies it). NULL when a header is unusable. */
static struct curl_slist *own_headers(zavu_client *c, const zavu_request *rq,
                                      struct curl_slist *extra)
{
    size_t i;
    if (rq->n_headers > ZAVU_MAX_HEADERS)
        return NULL;
    for (i = 0; i < rq->n_headers; i++) {
        const char *colon = strchr(rq->headers[i], ':');
        /* "Name: value" and nothing that would end the header early */
        if (!colon || colon == rq->headers[i] || zavu_has_control(rq->headers[i]))
            return NULL;
        extra[i].data = (char *)rq->headers[i];
        extra[i].next = &extra[i + 1];
    }
    extra[i - 1].next = client_headers(c, rq);
    return extra;
}

int zavu_request_send(zavu_client *c, const zavu_request *rq, const zavu_call *call,
                      zavu_result *res)
{
    int ok, once = strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PATCH") == 0;
    char message[ZAVU_MAX_ID_LEN / 4];
    struct curl_slist extra[ZAVU_MAX_HEADERS], *headers = NULL;

    memset(res, 0, sizeof *res);
    res->retry_after = -1;
    res->noun = rq->noun ? rq->noun : "resource";
    if (strcmp(rq->method, "POST") != 0 && strcmp(rq->method, "GET") != 0 &&
        strcmp(rq->method, "DELETE") != 0 && strcmp(rq->method, "PATCH") != 0)
        return local_error(res, "invalid_argument", "method must be GET, POST, PATCH or DELETE");
    if (c->config_code)
        return local_error(res, c->config_code, c->config_message);
    if (c->test_key && rq->live_only) {
        zavu_set_test_key(res);
        return 0;
    }
    if (rq->n_headers && !(headers = own_headers(c, rq, extra)))
        return local_error(res, "invalid_argument", "a request header is not \"Name: value\"");
    zavu_adopt(c);
    switch (zavu_request_url(c->base_url, rq, &c->url, &c->url_cap, message, sizeof message)) {
    case 0: break;
    case -2: return local_error(res, "invalid_argument", message);
    default: return local_error(res, "connection_error", "out of memory");
    }
    if (!c->easy && !(c->easy = zavu_new_easy(c, &c->body, c->curl_error)))
        return local_error(res, "connection_error", "could not create a libcurl handle");
    set_method(c, rq);
    if (curl_easy_setopt(c->easy, CURLOPT_URL, c->url) != CURLE_OK) /* over libcurl's 8 MB */
        return local_error(res, "invalid_argument", "the URL is longer than libcurl accepts");
    if (headers)
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
    c->rq_idempotent = rq->idempotent;
    zavu_guard_resend(c->easy, &c->body, once && !rq->idempotent);
    ok = zavu_perform(c, rq->method, call, 1, res);
    c->rq_idempotent = 0;
    if (headers) /* extra[] ends with this call: point the handle back at the client's */
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    return ok;
}

/* A 2xx whose body stalled or was cut off: the body is the answer here (a
 * delete needs none), so the call fails as the transport did - but the
 * server answered, so it did the work: the status stays, and only a GET is
 * worth sending again. */
static int cut_success(zavu_client *c, const char *method, CURLcode rc, zavu_result *res)
{
    long status = res->status;
    char message[sizeof res->message];
    int again = zavu_transport_error(rc, c->curl_error, res);
    res->status = status;
    snprintf(message, sizeof message, "the API answered %ld, then its body was cut short: %.180s",
             status, res->message);
    zavu_set_error(res, res->code, message);
    if (strcmp(method, "GET") != 0 && !c->rq_idempotent) /* a key makes it safe again */
        res->retryable = again = 0;
    zavu_note_request_id(c->easy, res);
    return again;
}

/* A success whose body is the answer: kept whole, or the call fails. */
static int settle_body(zavu_client *c, const char *method, CURLcode rc, int again, zavu_result *res)
{
    if (res->ok && rc != CURLE_OK && !c->body.cut && !zavu_cancelled_since(c->body.cancel_gen))
        again = cut_success(c, method, rc, res);
    if (res->ok && c->body.cut) { /* a success we did not keep whole */
        char message[96];
        res->ok = 0;
        res->retryable = 0;
        snprintf(message, sizeof message, "the response is larger than max_response_bytes (%zu)",
                 c->max_response);
        zavu_set_error(res, "response_too_large", message);
    } else if (res->ok) {
        res->body = c->body.data;
        res->body_len = c->body.len;
        zavu_note_request_id(c->easy, res);
    }
    return again;
}

/* One attempt's timeout: the call's, or what is left before its deadline
 * (0: none), whichever is shorter. *capped says which. Returns <= 0 when
 * nothing is left. */
static double attempt_timeout(double timeout, double deadline, int *capped)
{
    double left;
    *capped = 0;
    if (!deadline)
        return timeout;
    left = deadline - zavu_now();
    if (left < timeout) {
        *capped = 1;
        return left;
    }
    return timeout;
}

int zavu_perform(zavu_client *c, const char *method, const zavu_call *call, int keep_body,
                 zavu_result *res)
{
    int n, capped, sent = 0;
    int max_retries = zavu_call_retries(c, call), missing_ok = call && call->missing_ok;
    double timeout = zavu_call_timeout(c, call), total = zavu_call_total(c, call);
    double deadline = total > 0 ? zavu_now() + total : 0;

    c->body.max_ok = keep_body ? c->max_response : 0;
    c->call_gen = c->body.cancel_gen =
        zavu_cancel_count(); /* a cancel from now on ends this call */
    for (n = 0;; n++) {
        double started = c->debug ? zavu_now() : 0, wait, this_timeout;
        CURLcode rc;
        int again;
        this_timeout = attempt_timeout(timeout, deadline, &capped);
        if (this_timeout <= 0) { /* a retry wait ended right at the deadline */
            zavu_set_out_of_time(res, 0);
            break;
        }
        /* Set once: the handle keeps it from attempt to attempt. Rounded up
         * when capped, so a cut-short attempt ends at the deadline, not 1 ms
         * before it. */
        if (n == 0 || deadline)
            curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, zavu_ms(this_timeout) + capped);
        zavu_buffer_reset(&c->body);
        c->curl_error[0] = '\0';
        rc = curl_easy_perform(c->easy);
        again = zavu_classify(c->easy, rc, &c->body, c->curl_error, missing_ok, res);
        if (keep_body)
            again = settle_body(c, method, rc, again, res);
        again = zavu_may_retry(c, res, again);
        sent += zavu_sends(&c->body); /* with what libcurl sent again by itself */
        res->attempts = sent;
        wait = again && sent <= max_retries ? zavu_retry_wait(c, res, n) : -1;
        if (deadline && !res->ok && capped && rc == CURLE_OPERATION_TIMEDOUT &&
            !zavu_cancelled_since(c->call_gen)) {
            zavu_set_out_of_time(res, -1); /* cut short at the deadline */
            wait = -1;
        } else if (deadline && wait >= 0 && zavu_now() + wait >= deadline) {
            zavu_set_out_of_time(res, wait); /* not waited: the call could not end in time */
            wait = -1;
        }
        if (c->debug)
            zavu_log_attempt(method, c->url, res, (zavu_now() - started) * 1000, n + 1,
                             max_retries + 1, wait);
        if (wait < 0)
            break;
        zavu_sleep_since(wait, c->call_gen);
        if (zavu_cancelled_since(c->call_gen)) {
            zavu_set_cancelled(res);
            break;
        }
    }
    c->body.max_ok = 0; /* the buffer keeps bodies as errors only between calls */
    zavu_guard_resend(c->easy, &c->body, 0);
    return res->ok;
}
