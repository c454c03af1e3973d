/*
 * pingpong.c -- the machine's bare cross-process wake-up latency, as a
 * baseline for the round-trip numbers of bench/run.sh.
 *
 * A parent and a forked child bounce one byte back and forth: the parent
 * writes, the child reads it and writes it back, the parent reads it; that
 * is one round trip = two cross-process wake-ups and four system calls on
 * each side's critical path.  Two transports, one after the other:
 *
 *   socketpair  two AF_UNIX SOCK_STREAM socketpairs, one per direction
 *   tcp         one TCP connection over 127.0.0.1 with TCP_NODELAY on both
 *               ends (connected before the fork: no port is left listening)
 *
 * Each transport runs three times, one after the other:
 *
 *   (unpinned)  wherever the scheduler puts the two processes -- the
 *               situation of the systems under test, and the headline number
 *   same_cpu    both processes pinned to one CPU: a wake-up is a context
 *               switch on that CPU
 *   cross_cpu   parent and child pinned to two different CPUs: every wake-up
 *               crosses CPUs (on a VM: an inter-processor interrupt to a vCPU
 *               that may be halted in the hypervisor)
 *
 * On a 2-vCPU VM the two pinned numbers differ by several times and the
 * unpinned run flips between them as the scheduler moves the child; the
 * *_cross_share keys say which share of the unpinned round trips ran at
 * cross-CPU speed (slower than the geometric mean of the two pinned medians).
 * The pinned runs are skipped (keys null) when fewer than 2 CPUs are allowed
 * or pinning fails.
 *
 * Each run: W warm-up round trips (not timed), then N timed ones.
 * CLOCK_MONOTONIC is read once per round trip (the end of one is the start
 * of the next; on this kind of machine a vDSO call of a few tens of ns,
 * measured and printed as clock_overhead_ns), which gives
 *   *_rtt_us          median over batches of B round trips of (batch time / B)
 *                     -- the number the report uses
 *   *_rtt_mean_us     N-trip mean
 *   *_rtt_single_us   median of the individual round trips (what pp_bench and
 *                     the peers report for their own round trips)
 *   *_rtt_p90_us      p90 of the individual round trips (nearest rank)
 *   *_rtt_min_us      fastest individual round trip
 * with the prefixes pingpong, pingpong_same_cpu, pingpong_cross_cpu (the
 * socketpairs) and pingpong_tcp, pingpong_tcp_same_cpu, pingpong_tcp_cross_cpu.
 *
 * Prints one JSON object on stdout, e.g.
 *   {"pingpong_rtt_us": 9.7, ..., "pingpong_cross_cpu_rtt_us": 65.1, ...,
 *    "pingpong_cross_share": 0.12, "pingpong_tcp_rtt_us": 16.2, ...,
 *    "cpus": [0, 1], "iters": 20000, "warmup": 1000, "batch": 100,
 *    "clock_overhead_ns": 27}
 *
 * Build: cc -O2 -o pingpong pingpong.c
 * Usage: pingpong [--iters N] [--warmup W] [--batch B] [--only socketpair|tcp]
 *                 [--no-pinned]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* 1 = got the byte, 0 = peer closed, -1 = error */
static int read1(int fd, char *c)
{
    for (;;) {
        ssize_t r = read(fd, c, 1);
        if (r == 1)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static int write1(int fd, char c)
{
    for (;;) {
        ssize_t r = write(fd, &c, 1);
        if (r == 1)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* The child: echo every byte until the parent closes its end. */
static void echo_loop(int rfd, int wfd)
{
    char c;
    while (read1(rfd, &c) == 1)
        if (write1(wfd, c) != 1)
            break;
    _exit(0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct stats {
    int valid;
    double batch_median_us, mean_us, single_median_us, p90_us, min_us;
    int64_t *sorted; /* the n single round trips in ns, ascending */
    long n;
};

/* Parent side: warm up, then n timed round trips in t[0..n]. */
static void run_parent(int rfd, int wfd, long warmup, long n, long batch, struct stats *st)
{
    char c = 'x';
    for (long i = 0; i < warmup; ++i)
        if (write1(wfd, c) != 1 || read1(rfd, &c) != 1)
            die("warm-up round trip");

    int64_t *t = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!t)
        die("malloc");
    t[0] = now_ns();
    for (long i = 0; i < n; ++i) {
        if (write1(wfd, c) != 1 || read1(rfd, &c) != 1)
            die("round trip");
        t[i + 1] = now_ns();
    }

    long nb = n / batch;
    int64_t *b = malloc(sizeof(int64_t) * (size_t)(nb > 0 ? nb : 1));
    int64_t *d = malloc(sizeof(int64_t) * (size_t)n);
    if (!b || !d)
        die("malloc");
    for (long k = 0; k < nb; ++k)
        b[k] = t[(k + 1) * batch] - t[k * batch];
    for (long i = 0; i < n; ++i)
        d[i] = t[i + 1] - t[i];
    qsort(b, (size_t)nb, sizeof *b, cmp_i64);
    qsort(d, (size_t)n, sizeof *d, cmp_i64);

    double bmed = nb % 2 ? (double)b[nb / 2] : 0.5 * ((double)b[nb / 2 - 1] + (double)b[nb / 2]);
    double smed = n % 2 ? (double)d[n / 2] : 0.5 * ((double)d[n / 2 - 1] + (double)d[n / 2]);
    st->batch_median_us = bmed / (double)batch / 1e3;
    st->mean_us = (double)(t[n] - t[0]) / (double)n / 1e3;
    st->single_median_us = smed / 1e3;
    st->p90_us = (double)d[(size_t)(0.9 * (double)(n - 1))] / 1e3;
    st->min_us = (double)d[0] / 1e3;
    st->sorted = d;
    st->n = n;
    st->valid = 1;
    free(t);
    free(b);
}

/* CPU placement of one run: -1 = leave it to the scheduler. */
struct place {
    int parent_cpu, child_cpu;
};

static cpu_set_t initial_mask;

static int pin_to(int cpu)
{
    cpu_set_t cs;
    if (cpu < 0)
        return 0;
    CPU_ZERO(&cs);
    CPU_SET(cpu, &cs);
    return sched_setaffinity(0, sizeof cs, &cs);
}

/* Parent, before the fork; 0 ok, -1 when pinning is not allowed here. */
static int place_parent(struct place pl)
{
    if (pl.parent_cpu < 0)
        return 0;
    return pin_to(pl.parent_cpu);
}

static void unplace_parent(struct place pl)
{
    if (pl.parent_cpu >= 0)
        sched_setaffinity(0, sizeof initial_mask, &initial_mask);
}

static void reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static void bench_socketpair(struct place pl, long warmup, long n, long batch, struct stats *st)
{
    int down[2], up[2]; /* down: parent -> child, up: child -> parent */
    if (place_parent(pl) < 0)
        return; /* st->valid stays 0 */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, down) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, up) < 0)
        die("socketpair");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(down[0]);
        close(up[0]);
        if (pin_to(pl.child_cpu) < 0)
            _exit(1); /* the parent's read sees EOF */
        echo_loop(down[1], up[1]);
    }
    close(down[1]);
    close(up[1]);
    run_parent(up[0], down[0], warmup, n, batch, st);
    close(down[0]); /* the child sees EOF and exits */
    close(up[0]);
    reap(pid);
    unplace_parent(pl);
}

static void nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        die("setsockopt TCP_NODELAY");
}

static void bench_tcp(struct place pl, long warmup, long n, long batch, struct stats *st)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0; /* any free port */

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("socket");
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 1) < 0)
        die("bind/listen on 127.0.0.1");
    if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
        die("getsockname");
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cfd < 0)
        die("socket");
    if (connect(cfd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("connect to 127.0.0.1");
    int sfd = accept(lfd, NULL, NULL);
    if (sfd < 0)
        die("accept");
    close(lfd);
    nodelay(cfd);
    nodelay(sfd);
    if (place_parent(pl) < 0) {
        close(cfd);
        close(sfd);
        return; /* st->valid stays 0 */
    }

    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(cfd);
        if (pin_to(pl.child_cpu) < 0)
            _exit(1);
        echo_loop(sfd, sfd);
    }
    close(sfd);
    run_parent(cfd, cfd, warmup, n, batch, st);
    close(cfd);
    reap(pid);
    unplace_parent(pl);
}

static long parse_long(const char *flag, const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end); /* accepts 2e4 as well as 20000 */
    if (end == s || *end != '\0' || v < 1 || v > 1e9) {
        fprintf(stderr, "pingpong: bad value for %s: %s\n", flag, s);
        exit(2);
    }
    return (long)v;
}

static double clock_overhead_ns(void)
{
    enum { K = 100000 };
    int64_t t0 = now_ns(), t1 = t0;
    for (int i = 0; i < K; ++i)
        t1 = now_ns();
    return (double)(t1 - t0) / K;
}

/* Share of the unpinned round trips slower than the geometric mean of the
 * same-CPU and cross-CPU medians; negative when unknown. */
static double cross_share(const struct stats *free_run, const struct stats *same,
                          const struct stats *cross)
{
    if (!free_run->valid || !same->valid || !cross->valid)
        return -1;
    /* d > sqrt(same * cross)  <=>  d * d > same * cross (all in ns) */
    double thr2 = 1e6 * same->single_median_us * cross->single_median_us;
    long slow = 0;
    for (long i = 0; i < free_run->n; ++i) {
        double d = (double)free_run->sorted[i];
        slow += d * d > thr2;
    }
    return (double)slow / (double)free_run->n;
}

static void print_stats(const char *prefix, const struct stats *st)
{
    if (!st->valid) {
        printf("\"%s_rtt_us\": null, ", prefix);
        return;
    }
    printf("\"%s_rtt_us\": %.2f, \"%s_rtt_mean_us\": %.2f, \"%s_rtt_single_us\": %.2f, "
           "\"%s_rtt_p90_us\": %.2f, \"%s_rtt_min_us\": %.2f, ",
           prefix, st->batch_median_us, prefix, st->mean_us, prefix, st->single_median_us,
           prefix, st->p90_us, prefix, st->min_us);
}

int main(int argc, char **argv)
{
    long n = 20000, warmup = 1000, batch = 100;
    int do_sp = 1, do_tcp = 1, pinned = 1;

    for (int a = 1; a < argc; ++a) {
        const char *flag = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(flag, "--iters") && val)
            n = parse_long(flag, val);
        else if (!strcmp(flag, "--warmup") && val)
            warmup = parse_long(flag, val);
        else if (!strcmp(flag, "--batch") && val)
            batch = parse_long(flag, val);
        else if (!strcmp(flag, "--only") && val && !strcmp(val, "socketpair"))
            do_tcp = 0;
        else if (!strcmp(flag, "--only") && val && !strcmp(val, "tcp"))
            do_sp = 0;
        else if (!strcmp(flag, "--no-pinned")) {
            pinned = 0;
            continue; /* no value */
        } else {
            fprintf(stderr, "usage: %s [--iters N] [--warmup W] [--batch B] "
                            "[--only socketpair|tcp] [--no-pinned]\n", argv[0]);
            return 2;
        }
        ++a; /* consumed the value */
    }
    if (batch > n)
        batch = n;
    signal(SIGPIPE, SIG_IGN); /* a vanished peer is an error return, not a signal */

    /* the first two CPUs this process may run on */
    int cpu[2] = {-1, -1}, ncpu = 0;
    if (sched_getaffinity(0, sizeof initial_mask, &initial_mask) == 0)
        for (int c = 0; c < CPU_SETSIZE && ncpu < 2; ++c)
            if (CPU_ISSET(c, &initial_mask))
                cpu[ncpu++] = c;
    if (ncpu < 2)
        pinned = 0;
    const struct place free_pl = {-1, -1}, same_pl = {cpu[0], cpu[0]}, cross_pl = {cpu[0], cpu[1]};

    struct stats sp = {0}, sp_same = {0}, sp_cross = {0};
    struct stats tcp = {0}, tcp_same = {0}, tcp_cross = {0};
    /* the unpinned runs first: they are the headline numbers */
    if (do_sp)
        bench_socketpair(free_pl, warmup, n, batch, &sp);
    if (do_tcp)
        bench_tcp(free_pl, warmup, n, batch, &tcp);
    if (pinned && do_sp) {
        bench_socketpair(same_pl, warmup, n, batch, &sp_same);
        bench_socketpair(cross_pl, warmup, n, batch, &sp_cross);
    }
    if (pinned && do_tcp) {
        bench_tcp(same_pl, warmup, n, batch, &tcp_same);
        bench_tcp(cross_pl, warmup, n, batch, &tcp_cross);
    }

    printf("{");
    if (do_sp) {
        print_stats("pingpong", &sp);
        print_stats("pingpong_same_cpu", &sp_same);
        print_stats("pingpong_cross_cpu", &sp_cross);
        double share = cross_share(&sp, &sp_same, &sp_cross);
        share < 0 ? printf("\"pingpong_cross_share\": null, ")
                  : printf("\"pingpong_cross_share\": %.3f, ", share);
    }
    if (do_tcp) {
        print_stats("pingpong_tcp", &tcp);
        print_stats("pingpong_tcp_same_cpu", &tcp_same);
        print_stats("pingpong_tcp_cross_cpu", &tcp_cross);
        double share = cross_share(&tcp, &tcp_same, &tcp_cross);
        share < 0 ? printf("\"pingpong_tcp_cross_share\": null, ")
                  : printf("\"pingpong_tcp_cross_share\": %.3f, ", share);
    }
    if (pinned)
        printf("\"cpus\": [%d, %d], ", cpu[0], cpu[1]);
    else
        printf("\"cpus\": null, ");
    printf("\"iters\": %ld, \"warmup\": %ld, \"batch\": %ld, \"clock_overhead_ns\": %.0f}\n",
           n, warmup, batch, clock_overhead_ns());
    free(sp.sorted), free(sp_same.sorted), free(sp_cross.sorted);
    free(tcp.sorted), free(tcp_same.sorted), free(tcp_cross.sorted);
    return 0;
}
