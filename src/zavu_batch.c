/*
 * zavu_batch.c - many deletes at once over libcurl's multi interface: a few
 * transfer slots, ids fed into them as they free up, retries parked as timers
 * so no transfer waits for another's back-off. No Lua here.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
    CURL *easy;
    zavu_buffer body;
    char errbuf[CURL_ERROR_SIZE];
    char *url; /* reused from transfer to transfer */
    size_t url_cap;
    size_t item;
    double started;
    int busy;
    int capped; /* its timeout is what was left of the batch's total_timeout */
} slot;

typedef struct parked { /* an id waiting for its retry */
    size_t item;
    double due;
} parked;

typedef struct batch {
    zavu_client *c;
    const char *const *ids;
    const size_t *lens;
    size_t n, next, settled_count;
    int *attempts;
    parked *waiting;
    size_t n_waiting;
    slot *slots;
    int n_slots, max_retries, missing_ok;
    double timeout;
    double deadline; /* total_timeout: when the whole batch must be over; 0: never */
    int expired;     /* a transfer was cut at the deadline (libcurl may see it a ms early) */
    unsigned long cancel_gen; /* the cancel count when the batch began */
    zavu_settled_fn settled;
    void *ud;
} batch;

static int settle(batch *b, size_t item, const zavu_result *res)
{
    b->settled_count++;
    return b->settled(b->ud, item, res);
}

/* The next id to send: a due retry first, then a fresh one. Fresh ids that
 * fail local checks are settled on the spot. Returns 0 when none is ready. */
static int next_item(batch *b, double now, size_t *item, int *abort)
{
    size_t i;
    zavu_result res;
    for (i = 0; i < b->n_waiting; i++) {
        if (b->waiting[i].due <= now) {
            *item = b->waiting[i].item;
            b->waiting[i] = b->waiting[--b->n_waiting];
            return 1;
        }
    }
    while (b->next < b->n) {
        size_t k = b->next++;
        if (zavu_prepare_call(b->c, b->ids[k], b->lens[k], &res)) {
            *item = k;
            return 1;
        }
        if (settle(b, k, &res)) {
            *abort = 1;
            return 0;
        }
        if (zavu_forked(b->c))
            return 0; /* on_progress forked: run() lets go of the parent's transfers first */
    }
    return 0;
}

static int start(batch *b, slot *s, size_t item)
{
    if (zavu_session_url(b->c->base_url, b->ids[item], b->lens[item], &s->url, &s->url_cap) != 0)
        return -1;
    s->item = item;
    zavu_buffer_reset(&s->body);
    s->errbuf[0] = '\0';
    s->started = zavu_now();
    s->body.cancel_gen = b->cancel_gen;
    s->capped = b->deadline && b->deadline - s->started < b->timeout;
    curl_easy_setopt(s->easy, CURLOPT_URL, s->url);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, /* capped: rounded up, to end past the deadline */
                     s->capped ? zavu_ms(b->deadline - s->started) + 1 : zavu_ms(b->timeout));
    if (curl_multi_add_handle(b->c->multi, s->easy) != CURLM_OK)
        return -1;
    s->busy = 1;
    return 0;
}

/* A transfer ended: park it for a retry, or settle it. */
static int finish(batch *b, slot *s, CURLcode rc)
{
    zavu_result res;
    int again, n;
    double wait;

    memset(&res, 0, sizeof res);
    again = zavu_classify(s->easy, rc, &s->body, s->errbuf, b->missing_ok, &res);
    curl_multi_remove_handle(b->c->multi, s->easy);
    s->busy = 0;
    n = b->attempts[s->item] += zavu_sends(&s->body); /* libcurl may have sent it twice */
    res.attempts = n;
    wait = again && n <= b->max_retries ? zavu_retry_wait(b->c, &res, n - 1) : -1;
    if (b->deadline && !res.ok && s->capped && rc == CURLE_OPERATION_TIMEDOUT &&
        !zavu_cancelled_since(b->cancel_gen)) {
        zavu_set_out_of_time(&res, -1); /* cut short at the batch's deadline */
        b->expired = 1;
        wait = -1;
    } else if (b->deadline && wait >= 0 && zavu_now() + wait >= b->deadline) {
        zavu_set_out_of_time(&res, wait); /* its retry would come too late */
        wait = -1;
    }
    if (b->c->debug)
        zavu_log_attempt("DELETE", s->url, &res, (zavu_now() - s->started) * 1000, n,
                         b->max_retries + 1, wait);
    if (wait >= 0) {
        b->waiting[b->n_waiting].item = s->item;
        b->waiting[b->n_waiting].due = zavu_now() + wait;
        b->n_waiting++;
        return 0;
    }
    return settle(b, s->item, &res);
}

/* Milliseconds libcurl may sleep: until the earliest parked retry is due
 * or the deadline, and never over 100 ms, so a cancel is seen while only
 * timers are left. */
static int poll_timeout(const batch *b, double now)
{
    size_t i;
    double soonest = now + 0.1;
    if (b->deadline && b->deadline < soonest)
        soonest = b->deadline;
    for (i = 0; i < b->n_waiting; i++)
        if (b->waiting[i].due < soonest)
            soonest = b->waiting[i].due;
    return soonest <= now ? 0 : (int)((soonest - now) * 1000) + 1;
}

/* One id that is still open, ended: cancelled, or out of time (wait as
 * zavu_set_out_of_time takes it). */
static int end_open(batch *b, size_t item, int attempts, int out_of_time, double wait)
{
    zavu_result res;
    memset(&res, 0, sizeof res);
    res.retry_after = -1;
    res.attempts = attempts;
    if (!out_of_time)
        zavu_set_cancelled(&res);
    else if (attempts == 0)
        zavu_set_error(&res, "timeout",
                       "total_timeout ran out: 0 attempts made; the batch reached it before this "
                       "id was sent");
    else
        zavu_set_out_of_time(&res, wait);
    res.retryable = out_of_time;
    return settle(b, item, &res);
}

/* Settle whatever is still open (in flight, parked or not yet sent) as
 * cancelled, or as out of time once the batch's total_timeout ran out.
 * Returns non-zero when settled() asked to abort. */
static int end_rest(batch *b, int out_of_time)
{
    size_t i;
    int k;
    for (k = 0; k < b->n_slots; k++) {
        slot *s = &b->slots[k];
        if (!s->busy)
            continue;
        curl_multi_remove_handle(b->c->multi, s->easy);
        s->busy = 0;
        if (end_open(b, s->item, ++b->attempts[s->item], out_of_time, -1))
            return 1;
    }
    for (i = 0; i < b->n_waiting; i++) {
        size_t item = b->waiting[i].item;
        if (end_open(b, item, b->attempts[item], out_of_time, 0))
            return 1;
    }
    b->n_waiting = 0;
    while (b->next < b->n) {
        if (end_open(b, b->next++, 0, out_of_time, 0))
            return 1;
    }
    return 0;
}

static int setup_multi(batch *b);
static int setup_slot(batch *b, slot *s);

/* fork() ran inside settled() (on_progress), and this is the child. The
 * transfers in flight are the parent's, on sockets it shares: let go of them
 * without reading or writing a byte (zavu_adopt points them at /dev/null and
 * drops the handles), settle them here as failed - the parent carries them
 * on - and send what was never sent on fresh connections. Returns non-zero
 * when settled() asked to abort or libcurl cannot go on. */
static int forked(batch *b)
{
    zavu_result res;
    int k;
    zavu_adopt(b->c); /* c->multi and its connections are gone */
    for (k = 0; k < b->n_slots; k++) {
        slot *s = &b->slots[k];
        curl_easy_cleanup(s->easy); /* detached from the parent's multi by now */
        s->easy = NULL;
    }
    if (setup_multi(b) != 0)
        return 1;
    for (k = 0; k < b->n_slots; k++) {
        slot *s = &b->slots[k];
        int was_busy = s->busy;
        s->busy = 0;
        if (setup_slot(b, s) != 0)
            return 1;
        if (!was_busy)
            continue;
        memset(&res, 0, sizeof res);
        res.retry_after = -1;
        zavu_set_error(
            &res, "connection_error",
            "the process forked while this delete was in flight; the parent carries it on");
        res.attempts = ++b->attempts[s->item];
        if (settle(b, s->item, &res))
            return 1;
    }
    return 0;
}

static int run(batch *b)
{
    int i, running = 0, abort = 0, idle, finished, started;
    size_t item;
    CURLMsg *msg;

    while (b->settled_count < b->n) {
        double now = zavu_now();
        if (zavu_forked(b->c)) {
            if (forked(b))
                return -1;
            continue;
        }
        if (zavu_cancelled_since(b->cancel_gen))
            return end_rest(b, 0) ? -1 : 0;
        if (b->deadline && (now >= b->deadline || b->expired))
            return end_rest(b, 1) ? -1 : 0;
        idle = 0;
        started = 0;
        for (i = 0; i < b->n_slots; i++) {
            if (b->slots[i].busy)
                continue;
            if (!next_item(b, now, &item, &abort))
                break;
            if (start(b, &b->slots[i], item) != 0)
                return -1;
            started++;
        }
        if (abort)
            return -1;
        if (b->settled_count >= b->n)
            break;
        if (zavu_forked(b->c))
            continue;
        if (curl_multi_perform(b->c->multi, &running) != CURLM_OK)
            return -1;
        finished = 0;
        while ((msg = curl_multi_info_read(b->c->multi, &idle)) != NULL) {
            slot *s;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            finished++;
            if (finish(b, s, msg->data.result))
                return -1;
            if (zavu_forked(b->c))
                break; /* on_progress forked: not another call on the parent's handles */
        }
        /* A slot came free: fill it now. Polling first would sleep with
         * nothing in flight (on a fast server, a second per id). */
        if (finished)
            continue;
        /* libcurl 7.88 drops its run-now timers (HTTP/2 responses already
         * read for other streams) in a perform pass that starts a transfer:
         * perform once more before sleeping, or those streams wait for the
         * poll's timeout. */
        if (started)
            continue;
        /* Sleep until a socket is ready or a parked retry is due; nothing
         * sleeps while another transfer could make progress. */
        if (curl_multi_poll(b->c->multi, NULL, 0, poll_timeout(b, zavu_now()), NULL) != CURLM_OK)
            return -1;
    }
    return 0;
}

static void release(batch *b)
{
    int i;
    for (i = 0; b->slots && i < b->n_slots; i++) {
        slot *s = &b->slots[i];
        if (s->busy)
            curl_multi_remove_handle(b->c->multi, s->easy);
        curl_easy_cleanup(s->easy);
        free(s->body.data);
        free(s->url);
    }
    free(b->slots);
    free(b->waiting);
    free(b->attempts);
}

static int setup_multi(batch *b)
{
    zavu_client *c = b->c;
    if (!c->multi) {
        if (!(c->multi = curl_multi_init()))
            return -1;
        curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)ZAVU_MAX_CONCURRENCY);
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)b->n_slots);
    return 0;
}

static int setup_slot(batch *b, slot *s)
{
    if (!(s->easy = zavu_new_easy(b->c, &s->body, s->errbuf)))
        return -1;
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    /* Over TLS, wait to share an HTTP/2 connection rather than open more
     * (plain http is HTTP/1.1 here: one transfer per connection). */
    if (strncmp(b->c->base_url, "https:", 6) == 0)
        curl_easy_setopt(s->easy, CURLOPT_PIPEWAIT, 1L);
    return 0;
}

int zavu_delete_many(zavu_client *c, const char *const *ids, const size_t *id_lens, size_t n,
                     const zavu_call *call, int concurrency, zavu_settled_fn settled, void *ud)
{
    batch b;
    int i, rc = -1;

    memset(&b, 0, sizeof b);
    b.c = c;
    b.ids = ids;
    b.lens = id_lens;
    b.n = n;
    b.settled = settled;
    b.ud = ud;
    b.timeout = zavu_call_timeout(c, call);
    b.max_retries = zavu_call_retries(c, call);
    b.missing_ok = call && call->missing_ok;
    b.cancel_gen = c->call_gen = zavu_cancel_count();
    if (zavu_call_total(c, call) > 0) /* the whole batch's, not each id's */
        b.deadline = zavu_now() + zavu_call_total(c, call);
    if (concurrency < 1)
        concurrency = 1;
    if (concurrency > ZAVU_MAX_CONCURRENCY)
        concurrency = ZAVU_MAX_CONCURRENCY;
    b.n_slots = (size_t)concurrency < n ? concurrency : (int)n;

    if (n == 0)
        return 0;
    zavu_adopt(c); /* before touching c->multi: a forked child gets its own */
    b.attempts = calloc(n, sizeof *b.attempts);
    b.waiting = calloc(n, sizeof *b.waiting);
    b.slots = calloc((size_t)b.n_slots, sizeof *b.slots);
    if (!b.attempts || !b.waiting || !b.slots)
        goto done;
    if (setup_multi(&b) != 0)
        goto done;
    for (i = 0; i < b.n_slots; i++)
        if (setup_slot(&b, &b.slots[i]) != 0)
            goto done;
    rc = run(&b);
done:
    release(&b);
    return rc;
}
