/*
 * zavu_webhook.c - X-Zavu-Signature: parse, verify, sign (see zavu_webhook.h
 * and ../shared/api/webhooks.md, sections 6 and 9).
 *
 * The digest is libcrypto's HMAC-SHA256, fed the exact bytes received (v2:
 * the header's t digits, ".", the body, as three updates: no copy of the
 * body). Digests are compared as 32 raw bytes with CRYPTO_memcmp, so the
 * received hex may be in either case and the compare takes the same time
 * wherever the bytes differ. Messages name the rule that failed, never a
 * secret or the digest we expected.
 */
#include "zavu_webhook.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

/* OpenSSL 3 deprecates HMAC_CTX: use EVP_MAC there, HMAC_CTX before. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(ZAVU_WEBHOOK_LEGACY_HMAC)
#define ZAVU_EVP_MAC 1
#include <openssl/core_names.h>
#include <openssl/params.h>
#else
#include <openssl/hmac.h>
#endif

static const char *const CODES[] = {
    "ok",
    "missing_signature",
    "malformed_signature",
    "timestamp_out_of_range",
    "signature_mismatch",
    "internal_error",
};

const char *zavu_webhook_code(zavu_webhook_status s)
{
    if ((int)s < 0 || (size_t)s >= sizeof CODES / sizeof CODES[0])
        return "internal_error";
    return CODES[s];
}

static zavu_webhook_status fail(zavu_webhook_result *res, zavu_webhook_status s, const char *fmt,
                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
    res->status = s;
    res->scheme = NULL;
    return s;
}

static void reset(zavu_webhook_result *res)
{
    res->status = ZAVU_WEBHOOK_OK;
    res->scheme = NULL;
    res->message[0] = '\0';
}

/* ---- HMAC-SHA256 over up to three parts ---- */

#ifdef ZAVU_EVP_MAC
struct zavu_webhook_mac {
    EVP_MAC_CTX *ctx; /* HMAC with SHA-256 set; keyed by each digest */
};

zavu_webhook_mac *zavu_webhook_mac_new(void)
{
    zavu_webhook_mac *m = OPENSSL_zalloc(sizeof *m);
    EVP_MAC *mac = m ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (mac)
        m->ctx = EVP_MAC_CTX_new(mac); /* which keeps its own reference to mac */
    EVP_MAC_free(mac);
    if (m && (!m->ctx || !EVP_MAC_CTX_set_params(m->ctx, params))) {
        zavu_webhook_mac_free(m);
        return NULL;
    }
    return m;
}

void zavu_webhook_mac_free(zavu_webhook_mac *m)
{
    if (!m)
        return;
    EVP_MAC_CTX_free(m->ctx); /* cleanses the key it holds */
    OPENSSL_free(m);
}

static int mac_digest(zavu_webhook_mac *m, const char *key, size_t key_len,
                      const char *const *parts, const size_t *lens, int n, unsigned char *out)
{
    size_t out_len = 0;
    int i, ok;
    /* A NULL key means "keep the last one": an empty key is "" of length 0. */
    ok = EVP_MAC_init(m->ctx, (const unsigned char *)(key ? key : ""), key_len, NULL);
    for (i = 0; ok && i < n; i++)
        ok = EVP_MAC_update(m->ctx, (const unsigned char *)parts[i], lens[i]);
    ok = ok && EVP_MAC_final(m->ctx, out, &out_len, ZAVU_WEBHOOK_DIGEST) &&
         out_len == ZAVU_WEBHOOK_DIGEST;
    return ok ? 0 : -1;
}
#else
struct zavu_webhook_mac {
    HMAC_CTX *ctx;
};

zavu_webhook_mac *zavu_webhook_mac_new(void)
{
    zavu_webhook_mac *m = OPENSSL_zalloc(sizeof *m);
    if (m && !(m->ctx = HMAC_CTX_new())) {
        OPENSSL_free(m);
        return NULL;
    }
    return m;
}

void zavu_webhook_mac_free(zavu_webhook_mac *m)
{
    if (!m)
        return;
    HMAC_CTX_free(m->ctx); /* cleanses the keyed state */
    OPENSSL_free(m);
}

static int mac_digest(zavu_webhook_mac *m, const char *key, size_t key_len,
                      const char *const *parts, const size_t *lens, int n, unsigned char *out)
{
    unsigned int out_len = 0;
    int i, ok;
    if (key_len > INT_MAX)
        return -1;
    ok = HMAC_Init_ex(m->ctx, key ? key : "", (int)key_len, EVP_sha256(), NULL);
    for (i = 0; ok && i < n; i++)
        ok = HMAC_Update(m->ctx, (const unsigned char *)parts[i], lens[i]);
    ok = ok && HMAC_Final(m->ctx, out, &out_len) && out_len == ZAVU_WEBHOOK_DIGEST;
    return ok ? 0 : -1;
}
#endif

/* With the caller's context, or one made for this digest: fetching HMAC and
 * SHA-256, making and freeing the context cost ~9 400 instructions, a fifth
 * on top of the digest of a 1 KiB body (bench/README.md). */
static int hmac_parts(zavu_webhook_mac *kept, const char *key, size_t key_len,
                      const char *const *parts, const size_t *lens, int n, unsigned char *out)
{
    zavu_webhook_mac *m = kept ? kept : zavu_webhook_mac_new();
    int r = m ? mac_digest(m, key, key_len, parts, lens, n, out) : -1;
    if (!kept)
        zavu_webhook_mac_free(m);
    return r;
}

int zavu_webhook_hmac(zavu_webhook_mac *mac, const char *key, size_t key_len, const char *prefix,
                      size_t prefix_len, const char *body, size_t body_len,
                      unsigned char out[ZAVU_WEBHOOK_DIGEST])
{
    const char *parts[2];
    size_t lens[2];
    int n = 0;
    if (prefix && prefix_len) {
        parts[n] = prefix;
        lens[n++] = prefix_len;
    }
    parts[n] = body ? body : "";
    lens[n++] = body ? body_len : 0;
    return hmac_parts(mac, key, key_len, parts, lens, n, out);
}

/* v1: the body; v2: the t digits as sent, ".", the body. */
static int scheme_digest(zavu_webhook_mac *mac, int v2, const char *t, size_t t_len,
                         const char *key, size_t key_len, const char *body, size_t body_len,
                         unsigned char *out)
{
    const char *parts[3];
    size_t lens[3];
    int n = 0;
    if (v2) {
        parts[n] = t;
        lens[n++] = t_len;
        parts[n] = ".";
        lens[n++] = 1;
    }
    parts[n] = body ? body : "";
    lens[n++] = body ? body_len : 0;
    return hmac_parts(mac, key, key_len, parts, lens, n, out);
}

/* ---- the header ---- */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'..'F' -> 'a'..'f'; nothing else lands there */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 64 hex digits (either case) into 32 bytes; 0, or -1 when not that. */
static int decode_digest(const char *s, size_t len, unsigned char *out)
{
    size_t i;
    if (len != 2 * ZAVU_WEBHOOK_DIGEST)
        return -1;
    for (i = 0; i < ZAVU_WEBHOOK_DIGEST; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* s..s+len without the spaces and tabs around it. */
static void trim(const char **s, size_t *len)
{
    while (*len && is_ows((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_ows((*s)[*len - 1]))
        (*len)--;
}

static int key_is(const char *k, size_t k_len, const char *name)
{
    return k_len == strlen(name) && memcmp(k, name, k_len) == 0;
}

/* Decimal digits into *value, saturated at LLONG_MAX; -1 when not digits. */
static int parse_seconds(const char *s, size_t len, long long *value)
{
    long long v = 0;
    size_t i;
    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        int d = s[i] - '0';
        if (d < 0 || d > 9)
            return -1;
        v = v > (LLONG_MAX - d) / 10 ? LLONG_MAX : v * 10 + d;
    }
    *value = v;
    return 0;
}

zavu_webhook_status zavu_webhook_parse(const char *header, size_t len, zavu_webhook_header *out,
                                       zavu_webhook_result *res)
{
    const char *whole = header;
    size_t whole_len = len, i = 0;
    int n_t = 0, any_eq = 0;

    memset(out, 0, sizeof *out);
    reset(res);
    if (whole)
        trim(&whole, &whole_len);
    if (!whole || whole_len == 0)
        return fail(res, ZAVU_WEBHOOK_MISSING_SIGNATURE,
                    header ? "the X-Zavu-Signature header is empty" : "no X-Zavu-Signature header");
    while (i <= len) {
        const char *item = header + i, *key, *value;
        size_t item_len = 0, key_len, value_len;
        while (i + item_len < len && header[i + item_len] != ',')
            item_len++;
        i += item_len + 1; /* past the comma (or the end) */
        value = memchr(item, '=', item_len);
        if (!value)
            continue; /* no "=": ignored, as the contract says */
        any_eq = 1;
        key = item;
        key_len = (size_t)(value - item);
        value++;
        value_len = item_len - key_len - 1;
        trim(&key, &key_len);
        trim(&value, &value_len);
        if (key_is(key, key_len, "t")) {
            if (++n_t > 1)
                return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                            "t= appears more than once in X-Zavu-Signature");
            if (parse_seconds(value, value_len, &out->t_value) != 0)
                return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                            "t= in X-Zavu-Signature is not a whole number of seconds");
            out->t = value;
            out->t_len = value_len;
        } else if (key_is(key, key_len, "v1") || key_is(key, key_len, "v2")) {
            int v2 = key[1] == '2', *n = v2 ? &out->n_v2 : &out->n_v1;
            if (*n == ZAVU_WEBHOOK_MAX_SIGS)
                return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                            "more than %d %s= values in X-Zavu-Signature", ZAVU_WEBHOOK_MAX_SIGS,
                            v2 ? "v2" : "v1");
            if (decode_digest(value, value_len, v2 ? out->v2[*n] : out->v1[*n]) != 0)
                return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                            "%s= in X-Zavu-Signature is not 64 hex digits", v2 ? "v2" : "v1");
            (*n)++;
        } /* other keys: ignored */
    }
    if (n_t == 0) {
        unsigned char ignored[ZAVU_WEBHOOK_DIGEST];
        if (!any_eq && decode_digest(whole, whole_len, ignored) == 0)
            return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                        "X-Zavu-Signature is a bare digest with no t=: a tool-call webhook's "
                        "signature (verify it with verify_tool)");
        return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE, "no t= in X-Zavu-Signature");
    }
    if (out->n_v1 + out->n_v2 == 0)
        return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                    "no v1= or v2= signature in X-Zavu-Signature");
    return ZAVU_WEBHOOK_OK;
}

/* ---- the window ---- */

/* Seconds for a message: to the millisecond, without trailing zeros. */
static void seconds_text(char *buf, size_t len, double s)
{
    size_t n;
    if (!(fabs(s) < 1e15)) { /* a t of many digits, or inf */
        snprintf(buf, len, "%.4g", s);
        return;
    }
    snprintf(buf, len, "%.3f", s);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

zavu_webhook_status zavu_webhook_check_time(double t, const zavu_webhook_check *check,
                                            const char *what, zavu_webhook_result *res)
{
    double age = check->now - t;
    char a[32], limit[32];
    reset(res);
    if (age < -check->future) {
        seconds_text(a, sizeof a, -age);
        seconds_text(limit, sizeof limit, check->future);
        return fail(res, ZAVU_WEBHOOK_TIMESTAMP_OUT_OF_RANGE,
                    "%s is %s s in the future (at most %s s allowed)", what, a, limit);
    }
    if (!(age <= check->tolerance)) { /* NaN too */
        seconds_text(a, sizeof a, age);
        seconds_text(limit, sizeof limit, check->tolerance);
        return fail(res, ZAVU_WEBHOOK_TIMESTAMP_OUT_OF_RANGE,
                    "%s is %s s old (at most %s s allowed)", what, a, limit);
    }
    return ZAVU_WEBHOOK_OK;
}

/* ---- verification ---- */

/* Whether any secret's digest equals any of the n sent (n x 32 bytes): every secret and
 * every value compared, in constant time each. -1 when libcrypto failed. */
static int any_match(zavu_webhook_mac *mac, int v2, const char *t, size_t t_len, const char *body,
                     size_t body_len, const zavu_webhook_secret *secrets, size_t n_secrets,
                     const unsigned char *sent, int n)
{
    unsigned char digest[ZAVU_WEBHOOK_DIGEST];
    int matched = 0, j;
    size_t s;
    for (s = 0; s < n_secrets; s++) {
        if (scheme_digest(mac, v2, t, t_len, secrets[s].key, secrets[s].len, body, body_len,
                          digest) != 0) {
            OPENSSL_cleanse(digest, sizeof digest);
            return -1;
        }
        for (j = 0; j < n; j++)
            matched |= CRYPTO_memcmp(digest, sent + j * ZAVU_WEBHOOK_DIGEST, ZAVU_WEBHOOK_DIGEST) ==
                       0;
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return matched;
}

static const char *secrets_note(size_t n) { return n > 1 ? " (with any of the secrets)" : ""; }

zavu_webhook_status zavu_webhook_verify(zavu_webhook_mac *mac, const char *body, size_t body_len,
                                        const char *header, size_t header_len,
                                        const zavu_webhook_secret *secrets, size_t n_secrets,
                                        const zavu_webhook_check *check, zavu_webhook_result *res)
{
    zavu_webhook_header h;
    int v2, m;
    if (zavu_webhook_parse(header, header_len, &h, res) != ZAVU_WEBHOOK_OK)
        return res->status;
    if (check->require_v2 && h.n_v2 == 0)
        return fail(res, ZAVU_WEBHOOK_SIGNATURE_MISMATCH,
                    "require_v2: X-Zavu-Signature carries v1 only, which does not cover the "
                    "timestamp (move the sender to v1+v2 or v2)");
    if (zavu_webhook_check_time((double)h.t_value, check, "the signature's timestamp (t=)", res) !=
        ZAVU_WEBHOOK_OK)
        return res->status;
    if (n_secrets == 0)
        return fail(res, ZAVU_WEBHOOK_SIGNATURE_MISMATCH, "no secret to check the signature with");
    /* v2 decides when present: v1 does not cover t, so falling back to it
     * would let an old body pass under a fresh timestamp. */
    v2 = h.n_v2 > 0;
    m = any_match(mac, v2, h.t, h.t_len, body, body_len, secrets, n_secrets,
                  v2 ? &h.v2[0][0] : &h.v1[0][0], v2 ? h.n_v2 : h.n_v1);
    if (m < 0)
        return fail(res, ZAVU_WEBHOOK_CRYPTO_FAILED, "libcrypto could not compute HMAC-SHA256");
    if (!m)
        return fail(res, ZAVU_WEBHOOK_SIGNATURE_MISMATCH,
                    v2 ? "the v2 signature does not match this body and timestamp%s"
                       : "the v1 signature does not match this body%s",
                    secrets_note(n_secrets));
    res->scheme = v2 ? "v2" : "v1";
    return ZAVU_WEBHOOK_OK;
}

zavu_webhook_status zavu_webhook_verify_tool(zavu_webhook_mac *mac, const char *body,
                                             size_t body_len, const char *signature, size_t sig_len,
                                             const zavu_webhook_secret *secrets, size_t n_secrets,
                                             zavu_webhook_result *res)
{
    unsigned char sent[ZAVU_WEBHOOK_DIGEST];
    int m;
    reset(res);
    if (signature)
        trim(&signature, &sig_len);
    if (!signature || sig_len == 0)
        return fail(res, ZAVU_WEBHOOK_MISSING_SIGNATURE,
                    signature ? "the tool call's X-Zavu-Signature is empty"
                              : "no X-Zavu-Signature on the tool call");
    if (decode_digest(signature, sig_len, sent) != 0)
        return fail(res, ZAVU_WEBHOOK_MALFORMED_SIGNATURE,
                    memchr(signature, '=', sig_len)
                        ? "the tool call's X-Zavu-Signature has t=/v1=/v2= items: a sender "
                          "webhook's header (verify it with verify)"
                        : "the tool call's X-Zavu-Signature is not 64 hex digits");
    if (n_secrets == 0)
        return fail(res, ZAVU_WEBHOOK_SIGNATURE_MISMATCH, "no secret to check the signature with");
    m = any_match(mac, 0, NULL, 0, body, body_len, secrets, n_secrets, sent, 1);
    if (m < 0)
        return fail(res, ZAVU_WEBHOOK_CRYPTO_FAILED, "libcrypto could not compute HMAC-SHA256");
    if (!m)
        return fail(res, ZAVU_WEBHOOK_SIGNATURE_MISMATCH,
                    "the tool call's signature does not match this body%s",
                    secrets_note(n_secrets));
    res->scheme = "tool";
    return ZAVU_WEBHOOK_OK;
}

/* ---- signing ---- */

static void to_hex(const unsigned char *d, char *out)
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < ZAVU_WEBHOOK_DIGEST; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * ZAVU_WEBHOOK_DIGEST] = '\0';
}

int zavu_webhook_sign(zavu_webhook_mac *mac, const char *body, size_t body_len, const char *secret,
                      size_t secret_len, long long t, int schemes, char *out, size_t out_len)
{
    char t_text[24], hex[2 * ZAVU_WEBHOOK_DIGEST + 1];
    unsigned char digest[ZAVU_WEBHOOK_DIGEST];
    size_t used;
    int t_len, v;
    if (t < 0 || schemes <= 0 || (schemes & ~(ZAVU_WEBHOOK_V1 | ZAVU_WEBHOOK_V2)) || !out)
        return -1;
    t_len = snprintf(t_text, sizeof t_text, "%lld", t);
    used = (size_t)snprintf(out, out_len, "t=%s", t_text);
    if (used >= out_len)
        return -1;
    for (v = 1; v <= 2; v++) {
        if (!(schemes & (v == 1 ? ZAVU_WEBHOOK_V1 : ZAVU_WEBHOOK_V2)))
            continue;
        if (scheme_digest(mac, v == 2, t_text, (size_t)t_len, secret, secret_len, body, body_len,
                          digest) != 0)
            return -1;
        to_hex(digest, hex);
        used += (size_t)snprintf(out + used, out_len - used, ",v%d=%s", v, hex);
        if (used >= out_len)
            return -1;
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return (int)used;
}
