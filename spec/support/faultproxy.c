/*
 * faultproxy.c - a TCP proxy for the specs and `make chaos` that sits between
 * the library and the mock API's HTTP port and misbehaves on purpose, the way
 * real networks do. Built for the tests only (build/faultproxy); never
 * installed.
 *
 *   faultproxy -u UPSTREAM_PORT [-p PORT] [-s SEED] [-w WEIGHTS] [-S STALL_MS]
 *              [-o INFO_FILE] [-l LOG_FILE] [-L LIFETIME_S]
 *
 * It reads each HTTP/1.1 request whole (head and Content-Length or chunked
 * body), then picks a mode for it: the next one forced from the control port,
 * else a draw from the weights. The draw is keyed by the seed and the
 * request's own bytes (less its Host line, which names the proxy's random
 * port) and how often those bytes came before: the same seed gives the same
 * fault to the same request whatever the interleaving of connections, so a
 * run is replayable. Modes:
 *
 *   pass          relay the request and the answer
 *   refuse        relay, then stop listening for ARG ms (default 200): new
 *                 connections are refused (ECONNREFUSED) meanwhile
 *   reset_before  reset the connection; the request never reaches the server
 *   eat           read the request whole, close (FIN) without a byte back; not relayed
 *   lose          relay the request, let the server answer, close (FIN)
 *                 without a byte back: the server did the work
 *   reset_mid     relay, send part of the answer (ARG bytes, or a drawn cut
 *                 inside it), then reset
 *   stall         relay, hold the answer ARG ms (default a draw up to -S), then send it
 *   trickle       relay, send the answer one byte per write, ARG ms apart (default 1)
 *   drop_second   relay this request; the next one on this connection is `lose`
 *
 * Control: a second port takes one command a line and answers one line:
 *   next MODE[:ARG] ...   force the modes of the next requests, in order
 *   refuse MS             stop listening for MS ms now
 *   weights NAME=W,...    the draw's weights (the default: pass only)
 *   seed N                a new seed (occurrence counts restart)
 *   stats                 "requests=N connections=N pass=N ..."
 *   quit                  exit
 *
 * The ports, the seed and the pid go to stdout and to INFO_FILE as
 * "port=P control=C seed=S pid=N". LOG_FILE gets one line per request.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode {
    PASS,
    REFUSE,
    RESET_BEFORE,
    EAT,
    LOSE,
    RESET_MID,
    STALL,
    TRICKLE,
    DROP_SECOND,
    N_MODES
};
static const char *const mode_names[N_MODES] = {"pass",  "refuse",  "reset_before",
                                                "eat",   "lose",    "reset_mid",
                                                "stall", "trickle", "drop_second"};

enum state { READ_REQ, WAIT_RESP, HOLD, SEND_RESP, RESET_SOON };

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

typedef struct conn {
    int cfd, ufd; /* client side, server side (-1: not connected) */
    int id, nreq;
    enum state state;
    enum mode mode;
    long arg;
    int lose_next;   /* drop_second: the next request is lost */
    buf req, resp;   /* bytes from the client, from the server */
    size_t req_size; /* the current request's bytes in req */
    size_t resp_size;
    size_t sent, limit; /* answer bytes written; how many to write */
    int server_eof, close_after;
    double due; /* HOLD, trickle gaps and RESET_SOON: when to go on */
    char method[16];
} conn;

#define MAX_CONNS 1024
#define MAX_CONTROL 16
#define MAX_FORCED 256
#define MAX_BODY (64 * 1024 * 1024)

static conn *conns[MAX_CONNS];
static int control_fds[MAX_CONTROL];
static buf control_bufs[MAX_CONTROL];
static int listen_fd = -1, control_fd = -1, upstream_port, listen_port, listening = 1;
static double refuse_until;
static uint64_t seed;
static unsigned weights[N_MODES] = {1};
static long stall_max_ms = 1500;
static struct {
    enum mode mode;
    long arg;
} forced[MAX_FORCED];
static int n_forced;
static unsigned long stats[N_MODES], n_requests, n_connections;
static FILE *log_file;
static int next_conn_id;

/* ---- small tools ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void put(buf *b, const char *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        if (!(b->data = realloc(b->data, cap)))
            die("realloc");
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void take(buf *b, size_t n) /* drop the first n bytes */
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    while (n--)
        h = (h ^ (unsigned char)*p++) * 0x100000001B3ull;
    return h;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static int listen_on(int port, int *bound)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0)
        die("bind/listen");
    getsockname(fd, (struct sockaddr *)&a, &len);
    *bound = ntohs(a.sin_port);
    set_nonblock(fd);
    return fd;
}

/* ---- occurrence counts: how often a request's bytes came before ---- */

static uint64_t *seen_keys;
static unsigned *seen_counts;
static size_t seen_cap, seen_len;

static unsigned occurrence(uint64_t key)
{
    size_t i;
    if (key == 0)
        key = 1;
    if (2 * (seen_len + 1) > seen_cap) { /* grow and rehash */
        size_t old = seen_cap, j;
        uint64_t *keys = seen_keys;
        unsigned *counts = seen_counts;
        seen_cap = old ? old * 2 : 4096;
        seen_keys = calloc(seen_cap, sizeof *seen_keys);
        seen_counts = calloc(seen_cap, sizeof *seen_counts);
        if (!seen_keys || !seen_counts)
            die("calloc");
        for (j = 0; j < old; j++) {
            if (!keys[j])
                continue;
            for (i = keys[j] & (seen_cap - 1); seen_keys[i]; i = (i + 1) & (seen_cap - 1))
                ;
            seen_keys[i] = keys[j];
            seen_counts[i] = counts[j];
        }
        free(keys);
        free(counts);
    }
    for (i = key & (seen_cap - 1); seen_keys[i] && seen_keys[i] != key;
         i = (i + 1) & (seen_cap - 1))
        ;
    if (!seen_keys[i]) {
        seen_keys[i] = key;
        seen_len++;
    }
    return seen_counts[i]++;
}

/* ---- HTTP framing: where a request or an answer ends ---- */

static const char *find_head_end(const char *p, size_t n)
{
    size_t i;
    for (i = 3; i < n; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            return p + i + 1;
    return NULL;
}

/* The value of header `name` in head (NULL when absent), up to the line end. */
static const char *header(const char *head, size_t head_len, const char *name)
{
    size_t k = strlen(name);
    const char *p = head, *end = head + head_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > k && strncasecmp(p, name, k) == 0 && p[k] == ':') {
            p += k + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
        p = eol + 1;
    }
    return NULL;
}

/* Bytes of a chunked body starting at p (n available), 0 when not all here. */
static size_t chunked_size(const char *p, size_t n)
{
    size_t at = 0;
    for (;;) {
        char *stop;
        const char *eol;
        unsigned long size;
        eol = at < n ? memchr(p + at, '\n', n - at) : NULL;
        if (!eol)
            return 0;
        size = strtoul(p + at, &stop, 16);
        at = (size_t)(eol - p) + 1;
        if (size == 0) { /* trailers, then an empty line */
            for (;;) {
                eol = at < n ? memchr(p + at, '\n', n - at) : NULL;
                if (!eol)
                    return 0;
                if (eol == p + at || (eol == p + at + 1 && p[at] == '\r'))
                    return (size_t)(eol - p) + 1;
                at = (size_t)(eol - p) + 1;
            }
        }
        at += size + 2;
        if (at > n)
            return 0;
    }
}

/* The size of the message at the start of b: head plus body. 0 when it is
 * not whole yet. Answers (is_answer) to HEAD, 1xx, 204 and 304 have no body;
 * one with neither length nor chunks ends at the close (eof). */
static size_t message_size(const buf *b, int is_answer, const char *method, int eof)
{
    const char *end = find_head_end(b->data, b->len), *v;
    size_t head, body;
    if (!end)
        return 0;
    head = (size_t)(end - b->data);
    if (is_answer) {
        int status = b->len > 12 ? atoi(b->data + 9) : 0;
        if (strcmp(method, "HEAD") == 0 || status / 100 == 1 || status == 204 || status == 304)
            return head;
    }
    if ((v = header(b->data, head, "Transfer-Encoding")) && strncasecmp(v, "chunked", 7) == 0) {
        body = chunked_size(end, b->len - head);
        return body ? head + body : 0;
    }
    if ((v = header(b->data, head, "Content-Length"))) {
        body = (size_t)strtoull(v, NULL, 10);
        if (body > MAX_BODY)
            body = MAX_BODY;
        return b->len >= head + body ? head + body : 0;
    }
    if (!is_answer)
        return head;
    return eof ? b->len : 0;
}

/* ---- the modes ---- */

static int parse_mode(const char *s, enum mode *m, long *arg)
{
    int i;
    size_t n = strcspn(s, ":");
    for (i = 0; i < N_MODES; i++) {
        if (strlen(mode_names[i]) == n && strncmp(s, mode_names[i], n) == 0) {
            *m = (enum mode)i;
            *arg = s[n] == ':' ? atol(s + n + 1) : -1;
            return 0;
        }
    }
    return -1;
}

static int parse_weights(const char *spec)
{
    unsigned w[N_MODES] = {0}, total = 0;
    char copy[512], *tok, *save = NULL;
    int i;
    snprintf(copy, sizeof copy, "%s", spec);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        enum mode m;
        long ignored;
        if (!eq)
            return -1;
        *eq = '\0';
        if (parse_mode(tok, &m, &ignored) != 0)
            return -1;
        w[m] = (unsigned)atoi(eq + 1);
    }
    for (i = 0; i < N_MODES; i++)
        total += w[i];
    if (!total)
        return -1;
    memcpy(weights, w, sizeof w);
    return 0;
}

/* The mode of the request at the start of c->req (c->req_size bytes). */
static void choose(conn *c)
{
    uint64_t key, rng;
    unsigned total = 0, pick;
    const char *head_end = find_head_end(c->req.data, c->req_size), *host;
    size_t head = head_end ? (size_t)(head_end - c->req.data) : c->req_size;
    int i;

    if (c->lose_next) {
        c->lose_next = 0;
        c->mode = LOSE;
        c->arg = -1;
        return;
    }
    if (n_forced) {
        c->mode = forced[0].mode;
        c->arg = forced[0].arg;
        memmove(forced, forced + 1, --n_forced * sizeof forced[0]);
        return;
    }
    /* The key: the seed and the bytes, less the Host line (the proxy's port). */
    key = fnv(0xCBF29CE484222325ull ^ seed, c->req.data, c->req_size);
    if ((host = header(c->req.data, head, "Host"))) {
        const char *eol = memchr(host, '\n', head - (size_t)(host - c->req.data));
        key = fnv(0xCBF29CE484222325ull ^ seed, c->req.data, (size_t)(host - c->req.data));
        key = fnv(key, eol, c->req_size - (size_t)(eol - c->req.data));
    }
    rng = key ^ ((uint64_t)occurrence(key) * 0xD1B54A32D192ED03ull);
    for (i = 0; i < N_MODES; i++)
        total += weights[i];
    pick = (unsigned)(splitmix(&rng) % total);
    for (i = 0; i < N_MODES - 1 && pick >= weights[i]; i++)
        pick -= weights[i];
    c->mode = (enum mode)i;
    c->arg = -1;
    if (c->mode == STALL)
        c->arg = (long)(splitmix(&rng) % (uint64_t)(stall_max_ms + 1));
    else if (c->mode == TRICKLE)
        c->arg = (long)(splitmix(&rng) % 2);
    else if (c->mode == RESET_MID)
        c->arg = -2 - (long)(splitmix(&rng) % 1000); /* a cut at a drawn per mille */
}

static void stop_listening(long ms)
{
    if (listening) {
        /* Closed, so the kernel refuses connections (pending ones are
         * reset); bound again to the same port when the window ends. */
        close(listen_fd);
        listen_fd = -1;
        listening = 0;
    }
    if (now() + ms / 1000.0 > refuse_until)
        refuse_until = now() + ms / 1000.0;
}

/* ---- connections ---- */

static void close_conn(conn *c, int reset)
{
    int i;
    if (reset) {
        struct linger l = {1, 0}; /* close sends RST */
        setsockopt(c->cfd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->cfd);
    if (c->ufd >= 0)
        close(c->ufd);
    free(c->req.data);
    free(c->resp.data);
    for (i = 0; i < MAX_CONNS; i++)
        if (conns[i] == c)
            conns[i] = NULL;
    free(c);
}

static int connect_upstream(conn *c)
{
    struct sockaddr_in a;
    int one = 1;
    c->ufd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->ufd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)upstream_port);
    if (connect(c->ufd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->ufd);
        c->ufd = -1;
        return -1;
    }
    setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->server_eof = 0;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, 1000);
            continue;
        }
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void log_request(const conn *c)
{
    const char *eol;
    if (!log_file)
        return;
    eol = memchr(c->req.data, '\r', c->req_size);
    fprintf(log_file, "conn=%d req=%d mode=%s arg=%ld %.*s\n", c->id, c->nreq, mode_names[c->mode],
            c->arg, eol ? (int)(eol - c->req.data) : 0, c->req.data);
    fflush(log_file);
}

/* A whole request is in c->req: pick its mode and act. Returns 0 when the
 * connection goes on, -1 when it was closed. */
static int start_request(conn *c)
{
    c->nreq++;
    n_requests++;
    sscanf(c->req.data, "%15s", c->method);
    choose(c);
    stats[c->mode]++;
    log_request(c);
    switch (c->mode) {
    case RESET_BEFORE: close_conn(c, 1); return -1;
    case EAT: close_conn(c, 0); return -1;
    case REFUSE: stop_listening(c->arg >= 0 ? c->arg : 200); break;
    case DROP_SECOND: c->lose_next = 1; break;
    default: break;
    }
    if (c->ufd < 0 && connect_upstream(c) != 0) {
        close_conn(c, 1);
        return -1;
    }
    if (write_all(c->ufd, c->req.data, c->req_size) != 0) {
        close_conn(c, 1);
        return -1;
    }
    take(&c->req, c->req_size);
    c->req_size = 0;
    c->state = WAIT_RESP;
    return 0;
}

/* The whole answer is in c->resp: deliver it as the mode says. */
static int answer_ready(conn *c)
{
    const char *head_end = find_head_end(c->resp.data, c->resp_size);
    const char *v = head_end ? header(c->resp.data, (size_t)(head_end - c->resp.data), "Connection")
                             : NULL;
    c->close_after = c->server_eof || (v && strncasecmp(v, "close", 5) == 0);
    c->sent = 0;
    c->limit = c->resp_size;
    c->due = now();
    switch (c->mode) {
    case LOSE: close_conn(c, 0); return -1;
    case STALL: c->due = now() + (c->arg >= 0 ? c->arg : 500) / 1000.0; break;
    case RESET_MID:
        if (c->arg >= 0)
            c->limit = (size_t)c->arg < c->resp_size ? (size_t)c->arg : c->resp_size;
        else /* a drawn cut, at least one byte short of the end */
            c->limit = c->resp_size > 1 ? (c->resp_size - 1) * (size_t)(-c->arg - 2) / 1000 : 0;
        break;
    default: break;
    }
    c->state = c->mode == STALL ? HOLD : SEND_RESP;
    return 0;
}

/* Is a whole request in c->req? Then start it. */
static int maybe_start(conn *c)
{
    if (c->state != READ_REQ || !c->req.len)
        return 0;
    c->req_size = message_size(&c->req, 0, "", 0);
    if (!c->req_size)
        return 0;
    return start_request(c);
}

static int on_client_readable(conn *c)
{
    char tmp[65536];
    ssize_t n = read(c->cfd, tmp, sizeof tmp);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return 0;
        close_conn(c, 0); /* the client went away (a timeout, its close) */
        return -1;
    }
    put(&c->req, tmp, (size_t)n);
    return maybe_start(c);
}

static int on_server_readable(conn *c)
{
    char tmp[65536];
    ssize_t n = read(c->ufd, tmp, sizeof tmp);
    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0) {
        close(c->ufd);
        c->ufd = -1;
        c->server_eof = 1;
        if (c->state != WAIT_RESP)
            return 0; /* an idle keep-alive closed: reconnect for the next request */
    } else {
        if (c->state != WAIT_RESP)
            return 0; /* nothing is expected: drop it */
        put(&c->resp, tmp, (size_t)n);
    }
    c->resp_size = message_size(&c->resp, 1, c->method, c->server_eof);
    if (c->resp_size)
        return answer_ready(c);
    if (c->server_eof) { /* closed mid-answer: pass on what came, then close */
        c->resp_size = c->resp.len;
        return answer_ready(c);
    }
    return 0;
}

/* Write what the mode allows now; at the end, reset or go on. */
static int on_client_writable(conn *c)
{
    double t = now();
    if (c->state == RESET_SOON) {
        if (t >= c->due)
            close_conn(c, 1);
        return t >= c->due ? -1 : 0;
    }
    if (c->state == HOLD) {
        if (t < c->due)
            return 0;
        c->state = SEND_RESP;
    }
    while (c->sent < c->limit && t >= c->due) {
        size_t n = c->mode == TRICKLE ? 1 : c->limit - c->sent;
        ssize_t w = write(c->cfd, c->resp.data + c->sent, n);
        if (w < 0 && errno == EAGAIN)
            return 0;
        if (w <= 0) {
            close_conn(c, 0);
            return -1;
        }
        c->sent += (size_t)w;
        if (c->mode == TRICKLE) {
            c->due = t + (c->arg >= 0 ? c->arg : 1) / 1000.0;
            if (c->arg > 0)
                return 0;
        }
    }
    if (c->sent < c->limit)
        return 0;
    if (c->mode == RESET_MID) { /* let the part arrive first, then reset */
        c->state = RESET_SOON;
        c->due = t + 0.01;
        return 0;
    }
    take(&c->resp, c->resp.len < c->resp_size ? c->resp.len : c->resp_size);
    c->resp_size = 0;
    if (c->close_after) {
        close_conn(c, 0);
        return -1;
    }
    c->state = READ_REQ;
    return maybe_start(c);
}

static void accept_client(void)
{
    int i, fd, one = 1;
    conn *c;
    while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
        for (i = 0; i < MAX_CONNS && conns[i]; i++)
            ;
        if (i == MAX_CONNS) {
            close(fd);
            continue;
        }
        if (!(c = calloc(1, sizeof *c)))
            die("calloc");
        set_nonblock(fd);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->cfd = fd;
        c->ufd = -1;
        c->id = ++next_conn_id;
        n_connections++;
        conns[i] = c;
    }
}

/* ---- control ---- */

static void control_reply(int fd, const char *line)
{
    if (write_all(fd, line, strlen(line)) != 0 || write_all(fd, "\n", 1) != 0)
        return;
}

/* One command; returns -1 on quit. */
static int control_command(int fd, char *line)
{
    char out[1024];
    char *arg = strchr(line, ' '), *tok, *save = NULL;
    int i;
    size_t at;
    if (arg)
        *arg++ = '\0';
    if (strcmp(line, "next") == 0 && arg) {
        for (tok = strtok_r(arg, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            if (n_forced == MAX_FORCED ||
                parse_mode(tok, &forced[n_forced].mode, &forced[n_forced].arg) != 0) {
                control_reply(fd, "error: bad mode");
                return 0;
            }
            n_forced++;
        }
        control_reply(fd, "ok");
    } else if (strcmp(line, "refuse") == 0 && arg) {
        stop_listening(atol(arg));
        control_reply(fd, "ok");
    } else if (strcmp(line, "weights") == 0 && arg) {
        control_reply(fd, parse_weights(arg) == 0 ? "ok" : "error: bad weights");
    } else if (strcmp(line, "seed") == 0 && arg) {
        seed = strtoull(arg, NULL, 10);
        seen_len = 0;
        if (seen_cap) {
            memset(seen_keys, 0, seen_cap * sizeof *seen_keys);
            memset(seen_counts, 0, seen_cap * sizeof *seen_counts);
        }
        control_reply(fd, "ok");
    } else if (strcmp(line, "stats") == 0) {
        at = (size_t)snprintf(out, sizeof out, "requests=%lu connections=%lu forced=%d", n_requests,
                              n_connections, n_forced);
        for (i = 0; i < N_MODES; i++)
            at += (size_t)snprintf(out + at, sizeof out - at, " %s=%lu", mode_names[i], stats[i]);
        control_reply(fd, out);
    } else if (strcmp(line, "quit") == 0) {
        control_reply(fd, "ok");
        return -1;
    } else {
        control_reply(fd, "error: unknown command");
    }
    return 0;
}

static int on_control_readable(int k)
{
    char tmp[4096], *nl;
    ssize_t n = read(control_fds[k], tmp, sizeof tmp);
    buf *b = &control_bufs[k];
    if (n <= 0) {
        close(control_fds[k]);
        control_fds[k] = -1;
        b->len = 0;
        return 0;
    }
    put(b, tmp, (size_t)n);
    while ((nl = memchr(b->data, '\n', b->len))) {
        char line[4096];
        size_t len = (size_t)(nl - b->data);
        snprintf(line, sizeof line, "%.*s", (int)(len && nl[-1] == '\r' ? len - 1 : len), b->data);
        take(b, len + 1);
        if (control_command(control_fds[k], line) < 0)
            return -1;
    }
    return 0;
}

/* ---- the loop ---- */

int main(int argc, char **argv)
{
    const char *info = NULL, *log_name = NULL;
    double lifetime = 3600, started;
    int opt, port = 0, control_port, i;
    char line[256];

    seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    while ((opt = getopt(argc, argv, "u:p:s:w:S:o:l:L:")) != -1) {
        switch (opt) {
        case 'u': upstream_port = atoi(optarg); break;
        case 'p': port = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'w':
            if (parse_weights(optarg) != 0) {
                fprintf(stderr, "faultproxy: bad weights: %s\n", optarg);
                return 2;
            }
            break;
        case 'S': stall_max_ms = atol(optarg); break;
        case 'o': info = optarg; break;
        case 'l': log_name = optarg; break;
        case 'L': lifetime = atof(optarg); break;
        default: fprintf(stderr, "usage: faultproxy -u UPSTREAM_PORT [options]\n"); return 2;
        }
    }
    if (!upstream_port) {
        fprintf(stderr, "usage: faultproxy -u UPSTREAM_PORT [options]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (log_name && !(log_file = fopen(log_name, "w")))
        die(log_name);
    listen_fd = listen_on(port, &listen_port);
    control_fd = listen_on(0, &control_port);
    for (i = 0; i < MAX_CONTROL; i++)
        control_fds[i] = -1;
    snprintf(line, sizeof line, "port=%d control=%d seed=%llu pid=%d", listen_port, control_port,
             (unsigned long long)seed, (int)getpid());
    printf("faultproxy: %s\n", line);
    fflush(stdout);
    if (info) { /* written whole, then renamed: a reader never sees half */
        char tmp_name[4096];
        FILE *f;
        snprintf(tmp_name, sizeof tmp_name, "%s.tmp", info);
        if (!(f = fopen(tmp_name, "w")))
            die(tmp_name);
        fprintf(f, "%s\n", line);
        fclose(f);
        rename(tmp_name, info);
    }
    started = now();

    for (;;) {
        struct pollfd pfd[2 + MAX_CONTROL + 2 * MAX_CONNS];
        conn *owner[2 + MAX_CONTROL + 2 * MAX_CONNS];
        int kind[2 + MAX_CONTROL +
                 2 * MAX_CONNS]; /* 0 listen, 1 control listen, 2 control, 3 client, 4 server */
        int n = 0, timeout = 1000;
        double t = now();

        if (t - started > lifetime)
            return 0;
        if (!listening && t >= refuse_until) {
            int same;
            listen_fd = listen_on(listen_port, &same);
            listening = 1;
        }
        if (listening) {
            pfd[n] = (struct pollfd){listen_fd, POLLIN, 0};
            kind[n++] = 0;
        } else {
            timeout = (int)((refuse_until - t) * 1000) + 1;
        }
        pfd[n] = (struct pollfd){control_fd, POLLIN, 0};
        kind[n++] = 1;
        for (i = 0; i < MAX_CONTROL; i++) {
            if (control_fds[i] < 0)
                continue;
            pfd[n] = (struct pollfd){control_fds[i], POLLIN, 0};
            owner[n] = (conn *)(intptr_t)i;
            kind[n++] = 2;
        }
        for (i = 0; i < MAX_CONNS; i++) {
            conn *c = conns[i];
            short ev = POLLIN;
            if (!c)
                continue;
            if (c->state == SEND_RESP || c->state == HOLD || c->state == RESET_SOON) {
                if (c->due > t) {
                    int ms = (int)((c->due - t) * 1000) + 1;
                    if (ms < timeout)
                        timeout = ms;
                } else {
                    ev |= POLLOUT;
                }
            }
            pfd[n] = (struct pollfd){c->cfd, ev, 0};
            owner[n] = c;
            kind[n++] = 3;
            if (c->ufd >= 0) {
                pfd[n] = (struct pollfd){c->ufd, POLLIN, 0};
                owner[n] = c;
                kind[n++] = 4;
            }
        }
        if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
            die("poll");
        for (i = 0; i < n; i++) {
            short r = pfd[i].revents;
            int k;
            if (!r)
                continue;
            switch (kind[i]) {
            case 0: accept_client(); break;
            case 1:
                for (k = 0; k < MAX_CONTROL && control_fds[k] >= 0; k++)
                    ;
                {
                    int fd = accept(control_fd, NULL, NULL);
                    if (fd >= 0 && k < MAX_CONTROL)
                        control_fds[k] = fd;
                    else if (fd >= 0)
                        close(fd);
                }
                break;
            case 2:
                if (on_control_readable((int)(intptr_t)owner[i]) < 0)
                    return 0;
                break;
            case 3: {
                conn *c = owner[i];
                int j, alive = 0;
                for (j = 0; j < MAX_CONNS; j++)
                    alive |= conns[j] == c && c->cfd == pfd[i].fd;
                if (!alive)
                    break; /* closed earlier in this pass */
                if ((r & POLLOUT) && on_client_writable(c) < 0)
                    break;
                if (r & (POLLIN | POLLHUP | POLLERR))
                    on_client_readable(c);
                break;
            }
            case 4: {
                conn *c = owner[i];
                int j, alive = 0;
                for (j = 0; j < MAX_CONNS; j++)
                    alive |= conns[j] == c;
                if (alive && c->ufd == pfd[i].fd)
                    on_server_readable(c);
                break;
            }
            }
        }
    }
}
