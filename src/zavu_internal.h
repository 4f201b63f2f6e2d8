/*
 * zavu_internal.h - what the core's own files share: the client, the capped
 * body buffer, and the steps every request goes through (configure a libcurl
 * handle, turn its outcome into a zavu_result, decide on the wait).
 */
#ifndef ZAVU_INTERNAL_H
#define ZAVU_INTERNAL_H

#include "zavu_cancel.h"
#include "zavu_core.h"

#include <curl/curl.h>

#define ZAVU_MAX_TRACKED_SOCKETS 128

/* An error body, kept up to ZAVU_MAX_ERROR_BODY bytes. */
/* A response body, kept up to a limit: ZAVU_MAX_ERROR_BODY, or max_ok
 * bytes when the status is a success and max_ok is set. */
typedef struct zavu_buffer {
    char *data;
    size_t len, cap;
    size_t max_ok;            /* cap on a success body; 0: as an error body */
    size_t limit;             /* this transfer's cap, decided at its first bytes; 0: not yet */
    CURL *easy;               /* the handle it belongs to, for the status */
    int cut;                  /* the transfer was stopped because the body was too big */
    unsigned long cancel_gen; /* zavu_cancel_all count when the transfer began */
    /* Requests libcurl began to send in this transfer: more than one when it
     * sent again by itself on a fresh connection (zavu_guard_resend). */
    int sends;
    int send_once;      /* a POST without an idempotency key: refuse a second send */
    int resend_refused; /* ... and libcurl tried one */
} zavu_buffer;

/* Ready a body buffer for a new transfer. */
void zavu_buffer_reset(zavu_buffer *b);

struct zavu_client {
    CURL *easy;                 /* single deletes: one reused handle, one kept-alive connection */
    CURLM *multi;               /* delete_many: created on first use, its connections kept too */
    struct curl_slist *headers; /* Authorization and Accept */
    struct curl_slist *json_headers;       /* the same, plus Content-Type for a JSON body */
    struct curl_slist *empty_post_headers; /* the same, minus libcurl's form Content-Type */
    int easy_is_generic; /* c->easy was last set up by zavu_request_send, not for a delete */
    size_t max_response;
    unsigned long generation; /* forks seen when its connections were opened */
    char *base_url, *ca_file, *ca_path, *user_agent;
    double timeout, total_timeout, connect_timeout, max_retry_wait; /* total_timeout 0: none */
    int max_retries, debug;
    int test_key;           /* a zv_test_ key: refused by the live-only requests */
    int rq_idempotent;      /* the running request's rq->idempotent (0 for a delete) */
    unsigned long call_gen; /* zavu_cancel_count() when the running call began */
    unsigned int rng;
    /* A bad configuration is reported by every call, never by the constructor. */
    const char *config_code;
    char config_message[256];
    zavu_buffer body;
    char *url; /* the last request's URL; its buffer is reused */
    size_t url_cap;
    char curl_error[CURL_ERROR_SIZE];
    /* Sockets libcurl opened, so a forked child can let go of them safely. */
    curl_socket_t sockets[ZAVU_MAX_TRACKED_SOCKETS];
};

/* Settings shared by every handle of the client; body and errbuf are per handle. */
CURL *zavu_new_easy(zavu_client *c, zavu_buffer *body, char *errbuf);

/* Make the client's connections this process's: in a forked child, let go of
 * the parent's (without writing to them) so fresh ones are opened. */
void zavu_adopt(zavu_client *c);
/* 1 when this process is a fork of the one that opened c's connections. */
int zavu_forked(const zavu_client *c);

/* Check an id and the configuration, then zavu_adopt. Fills res and returns
 * 0 when the call cannot go ahead. */
int zavu_prepare_call(zavu_client *c, const char *id, size_t id_len, zavu_result *res);

/* Turn one finished transfer into res (everything but attempts).
 * Returns 1 when it is worth another attempt. */
int zavu_classify(CURL *e, CURLcode rc, const zavu_buffer *body, const char *errbuf, int missing_ok,
                  zavu_result *res);

/* res as the transport failure rc (status 0). Returns 1 when it is worth
 * another attempt. */
int zavu_transport_error(CURLcode rc, const char *errbuf, zavu_result *res);

/* res->request_id from the response's X-Request-Id. */
void zavu_note_request_id(CURL *e, zavu_result *res);

/* Perform c->easy (URL and method set) attempt after attempt as the retry
 * policy says, sleeping between them, within call's total_timeout (or the
 * client's); fills res. keep_body: the success body is the answer
 * (res->body; capped at max_response_bytes), as for zavu_request_send; a
 * delete needs only the status. */
int zavu_perform(zavu_client *c, const char *method, const zavu_call *call, int keep_body,
                 zavu_result *res);

/* The call's timeout, total_timeout (0: none) and max_retries: its own, else the client's. */
double zavu_call_timeout(const zavu_client *c, const zavu_call *call);
double zavu_call_total(const zavu_client *c, const zavu_call *call);
int zavu_call_retries(const zavu_client *c, const zavu_call *call);

/* res as "timeout": the call's total_timeout ran out with res->attempts
 * made. wait: the retry wait that would have passed it; < 0: the last
 * attempt itself was cut short at the deadline; 0: nothing more to say. */
void zavu_set_out_of_time(zavu_result *res, double wait);

/* For a POST without an idempotency key: may it be sent again? Only if it
 * surely never reached the server (no request began to go out), or the
 * server asked for it. res->retryable becomes that verdict, and the message
 * says when the server may have performed it. */
int zavu_post_may_retry(CURL *e, const zavu_buffer *body, zavu_result *res);

/* Before a transfer on e: once = 1 for a POST without an idempotency key,
 * which libcurl must not send again by itself (see zavu_client.c). */
void zavu_guard_resend(CURL *e, zavu_buffer *body, int once);

/* Requests the server may have seen in this transfer: one for the attempt,
 * more when libcurl sent it again by itself. */
int zavu_sends(const zavu_buffer *body);

/* An attempt's outcome that is worth another (`again`), through the rule of
 * the request (c->rq_idempotent, c->body.send_once): 1 when it may be sent
 * again; res->retryable says the same. */
int zavu_may_retry(zavu_client *c, zavu_result *res, int again);

/* res as test_mode_key: what a live-only request says to a zv_test_ key. */
void zavu_set_test_key(zavu_result *res);

/* Seconds to wait before retry number `retry` (0-based) after res. */
double zavu_retry_wait(zavu_client *c, const zavu_result *res, int retry);

void zavu_set_error(zavu_result *res, const char *code, const char *message);

/* res as "cancelled" (zavu_cancel_all ran while the call was in flight). */
void zavu_set_cancelled(zavu_result *res);

/* One stderr line per attempt; wait: seconds until the next one, < 0: none. */
void zavu_log_attempt(const char *method, const char *url, const zavu_result *res, double ms, int n,
                      int of, double wait);
#endif
