/*
 * pi_reference.c -- plain C reference for the ppcluster Monte Carlo pi benchmark.
 *
 * The algorithm is a fixed contract shared with the ppcluster native kernel,
 * its pure-Lua twin and the Python peers (bench/peers/):
 *
 *   PRNG: splitmix64. The state of job i (0-based) starts at seed = i + 1.
 *     state += 0x9E3779B97F4A7C15;
 *     z = state;
 *     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *     z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *     return z ^ (z >> 31);
 *   Per sample: x = (double)(next() >> 11) * 0x1.0p-53;
 *               y = (double)(next() >> 11) * 0x1.0p-53;   (the following draw)
 *               hit if x*x + y*y <= 1.0
 *
 * The whole run is 4e7 samples split into 32 jobs of 1,250,000 samples each.
 * Two pthreads each run half of the jobs (thread 0: jobs 0..15, thread 1:
 * jobs 16..31).  Prints one JSON object:
 *   {"pi_s": <wall seconds for the parallel part>, "hits": N, "pi": ...,
 *    "samples": ..., "jobs": ..., "threads": 2}
 *
 * Build: cc -O2 -ffp-contract=off -pthread -o pi_reference pi_reference.c
 * Usage: pi_reference [--samples N] [--jobs J] [--threads T]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z;
    *state += 0x9E3779B97F4A7C15ULL;
    z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* One job: `samples` samples from a splitmix64 stream seeded with `seed`. */
static uint64_t pi_job(uint64_t seed, uint64_t samples)
{
    uint64_t state = seed;
    uint64_t hits = 0;
    for (uint64_t k = 0; k < samples; ++k) {
        double x = (double)(splitmix64_next(&state) >> 11) * 0x1.0p-53;
        double y = (double)(splitmix64_next(&state) >> 11) * 0x1.0p-53;
        if (x * x + y * y <= 1.0)
            ++hits;
    }
    return hits;
}

struct worker {
    pthread_t tid;
    int first_job; /* inclusive */
    int last_job;  /* exclusive */
    uint64_t samples_per_job;
    uint64_t hits;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t hits = 0;
    for (int i = w->first_job; i < w->last_job; ++i)
        hits += pi_job((uint64_t)i + 1, w->samples_per_job); /* seed = i + 1 */
    w->hits = hits;
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned long long parse_u64(const char *flag, const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end); /* accepts 4e7 as well as 40000000 */
    if (end == s || *end != '\0' || v < 1 || v > 1e15) {
        fprintf(stderr, "pi_reference: bad value for %s: %s\n", flag, s);
        exit(2);
    }
    return (unsigned long long)v;
}

int main(int argc, char **argv)
{
    unsigned long long total = 40000000ULL;
    int jobs = 32;
    int nthreads = 2;

    for (int a = 1; a < argc; ++a) {
        const char *flag = argv[a];
        const char *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(flag, "--samples") && val)
            total = parse_u64(flag, val);
        else if (!strcmp(flag, "--jobs") && val)
            jobs = (int)parse_u64(flag, val);
        else if (!strcmp(flag, "--threads") && val)
            nthreads = (int)parse_u64(flag, val);
        else {
            fprintf(stderr, "usage: %s [--samples N] [--jobs J] [--threads T]\n", argv[0]);
            return 2;
        }
        ++a; /* consumed the value */
    }
    if (total % (unsigned long long)jobs != 0) {
        fprintf(stderr, "pi_reference: samples (%llu) must be divisible by jobs (%d)\n", total, jobs);
        return 2;
    }
    if (nthreads > jobs)
        nthreads = jobs;

    struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
    if (!ws)
        return 1;
    uint64_t per_job = total / (unsigned long long)jobs;
    for (int t = 0; t < nthreads; ++t) {
        ws[t].first_job = (int)((long long)jobs * t / nthreads);
        ws[t].last_job = (int)((long long)jobs * (t + 1) / nthreads);
        ws[t].samples_per_job = per_job;
    }

    double t0 = now_s();
    for (int t = 0; t < nthreads; ++t) {
        if (pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]) != 0) {
            fprintf(stderr, "pi_reference: pthread_create failed\n");
            return 1;
        }
    }
    uint64_t hits = 0;
    for (int t = 0; t < nthreads; ++t) {
        pthread_join(ws[t].tid, NULL);
        hits += ws[t].hits;
    }
    double elapsed = now_s() - t0;

    printf("{\"pi_s\": %.6f, \"hits\": %" PRIu64 ", \"pi\": %.10f, \"samples\": %llu, "
           "\"jobs\": %d, \"threads\": %d}\n",
           elapsed, hits, 4.0 * (double)hits / (double)total, total, jobs, nthreads);
    free(ws);
    return 0;
}
