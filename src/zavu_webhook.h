/*
 * zavu_webhook.h - Zavu webhook signatures (../shared/api/webhooks.md): the
 * X-Zavu-Signature header parsed, checked against the exact body bytes with
 * HMAC-SHA256 from OpenSSL's libcrypto, and made (for tests and tools).
 *
 * Pure C: no Lua, no network, no allocation of its own but libcrypto's
 * (the HMAC context). The binding (zavu_lua_webhooks.c) and the fuzzer
 * (fuzz/fuzz_webhook.c) call it alone.
 */
#ifndef ZAVU_WEBHOOK_H
#define ZAVU_WEBHOOK_H

#include <stddef.h>

#define ZAVU_WEBHOOK_TOLERANCE 300 /* seconds a signature may be old */
#define ZAVU_WEBHOOK_FUTURE 60     /* seconds it may be ahead of our clock */
#define ZAVU_WEBHOOK_MAX_SIGS 4    /* v1= (or v2=) values one header may carry */
#define ZAVU_WEBHOOK_DIGEST 32     /* bytes of an HMAC-SHA256 */
/* The longest header zavu_webhook_sign writes, its NUL included:
 * "t=" 19 digits ",v1=" 64 hex ",v2=" 64 hex. */
#define ZAVU_WEBHOOK_HEADER_MAX 160

typedef enum zavu_webhook_status {
    ZAVU_WEBHOOK_OK = 0,
    ZAVU_WEBHOOK_MISSING_SIGNATURE,      /* no header, or an empty one */
    ZAVU_WEBHOOK_MALFORMED_SIGNATURE,    /* not t=...,v1=...,v2=... */
    ZAVU_WEBHOOK_TIMESTAMP_OUT_OF_RANGE, /* t outside the window */
    ZAVU_WEBHOOK_SIGNATURE_MISMATCH,     /* no secret gives the digest sent */
    ZAVU_WEBHOOK_CRYPTO_FAILED           /* libcrypto failed (out of memory) */
} zavu_webhook_status;

/* The error code of a status: "signature_mismatch"...; "ok" for OK. */
const char *zavu_webhook_code(zavu_webhook_status s);

/* A secret's bytes as given (a "whsec_" prefix is part of the key). */
typedef struct zavu_webhook_secret {
    const char *key;
    size_t len;
} zavu_webhook_secret;

/* A reusable HMAC-SHA256 context: libcrypto's HMAC fetched and set to
 * SHA-256 once, then keyed afresh by each digest. Every function that
 * computes a digest takes one, or NULL to make one for that call (fetching
 * adds a fifth to the digest of a 1 KiB body). One user at a time (a
 * Lua state keeps its own). Between calls it holds the last secret it was
 * keyed with, as the caller holds it; freeing it cleanses that. */
typedef struct zavu_webhook_mac zavu_webhook_mac;

/* A new context, or NULL when libcrypto failed (out of memory). */
zavu_webhook_mac *zavu_webhook_mac_new(void);
void zavu_webhook_mac_free(zavu_webhook_mac *mac); /* NULL is fine */

/* What a header carries. t points into the header: the digits exactly as
 * sent, which v2 covers. */
typedef struct zavu_webhook_header {
    const char *t;
    size_t t_len;
    long long t_value; /* saturated at LLONG_MAX: far outside any window */
    unsigned char v1[ZAVU_WEBHOOK_MAX_SIGS][ZAVU_WEBHOOK_DIGEST];
    unsigned char v2[ZAVU_WEBHOOK_MAX_SIGS][ZAVU_WEBHOOK_DIGEST];
    int n_v1, n_v2;
} zavu_webhook_header;

/* The window and the policy of one verification. */
typedef struct zavu_webhook_check {
    double now;       /* seconds since the epoch */
    double tolerance; /* seconds t may be in the past */
    double future;    /* seconds t may be in the future */
    int require_v2;   /* refuse a header with no v2= */
} zavu_webhook_check;

/* The outcome: a status, the scheme that matched, and why not, in words
 * that never hold a secret or an expected digest. */
typedef struct zavu_webhook_result {
    zavu_webhook_status status;
    const char *scheme; /* "v2" or "v1" when OK, else NULL */
    char message[200];
} zavu_webhook_result;

/* Parse an X-Zavu-Signature value: comma-separated key=value items in any
 * order, spaces and tabs around them ignored, unknown keys and items with no
 * "=" ignored, hex in either case. t must appear once as decimal digits; at
 * least one v1 or v2 of 64 hex digits. Returns OK, MISSING_SIGNATURE (NULL or
 * blank) or MALFORMED_SIGNATURE, with res->message saying which rule. */
zavu_webhook_status zavu_webhook_parse(const char *header, size_t len, zavu_webhook_header *out,
                                       zavu_webhook_result *res);

/* Verify a sender-webhook delivery, step by step as the contract says:
 * parse, then the window (now - t in [-future, tolerance]), then v2 over
 * "{t}.{body}" when the header has v2 (a wrong v2 is a mismatch that v1
 * never rescues: v1 does not cover t), else v1 over the body; each secret
 * tried, each compare constant-time. Fills *res; returns res->status. */
zavu_webhook_status zavu_webhook_verify(zavu_webhook_mac *mac, const char *body, size_t body_len,
                                        const char *header, size_t header_len,
                                        const zavu_webhook_secret *secrets, size_t n_secrets,
                                        const zavu_webhook_check *check, zavu_webhook_result *res);

/* A tool-call webhook's bare hex signature: HMAC-SHA256 over the body. The
 * freshness of a tool call is the timestamp inside its (signed) JSON body,
 * for the caller to check with zavu_webhook_check_time once this passed. */
zavu_webhook_status zavu_webhook_verify_tool(zavu_webhook_mac *mac, const char *body,
                                             size_t body_len, const char *signature, size_t sig_len,
                                             const zavu_webhook_secret *secrets, size_t n_secrets,
                                             zavu_webhook_result *res);

/* The window alone: t (seconds, fractions allowed) against check's now,
 * tolerance and future. what names the timestamp in the message. */
zavu_webhook_status zavu_webhook_check_time(double t, const zavu_webhook_check *check,
                                            const char *what, zavu_webhook_result *res);

#define ZAVU_WEBHOOK_V1 1
#define ZAVU_WEBHOOK_V2 2

/* Write the header Zavu would send for body at time t (>= 0) with the
 * schemes (ZAVU_WEBHOOK_V1 | ZAVU_WEBHOOK_V2) into out, of out_len bytes
 * (ZAVU_WEBHOOK_HEADER_MAX is enough). Returns its length, or -1 when
 * libcrypto failed, t is negative, no scheme is asked for or out is short. */
int zavu_webhook_sign(zavu_webhook_mac *mac, const char *body, size_t body_len, const char *secret,
                      size_t secret_len, long long t, int schemes, char *out, size_t out_len);

/* HMAC-SHA256(key, prefix || body) into out; prefix may be NULL. 0, or -1
 * when libcrypto failed. */
int zavu_webhook_hmac(zavu_webhook_mac *mac, const char *key, size_t key_len, const char *prefix,
                      size_t prefix_len, const char *body, size_t body_len,
                      unsigned char out[ZAVU_WEBHOOK_DIGEST]);

#endif
