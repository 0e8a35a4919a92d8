/* Baseline for `scripts/bench store`: the least a durable capture can cost on this disk. One
 * INSERT and one COMMIT per iteration, WAL, synchronous=FULL, nothing else. Prints the rate and
 * commit latency percentiles in the same format as weighbridge-bench. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void check(int status, sqlite3 *db, const char *what) {
    if (status != SQLITE_OK && status != SQLITE_DONE && status != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DATABASE COUNT\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[2]);
    sqlite3 *db;
    check(sqlite3_open(argv[1], &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                           "CREATE TABLE weighings (ticket INTEGER PRIMARY KEY, bridge TEXT, weight_g INTEGER,"
                           " weighed_at_ms INTEGER, raw BLOB)", 0, 0, 0), db, "schema");
    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(db, "INSERT INTO weighings (bridge, weight_g, weighed_at_ms, raw) VALUES (?, ?, ?, ?)",
                             -1, &insert, 0), db, "prepare");
    double *latencies = malloc(sizeof(double) * count);
    unsigned char raw[10] = {0};
    double start = now_seconds();
    for (int i = 0; i < count; i++) {
        double began = now_seconds();
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0), db, "begin");
        sqlite3_bind_text(insert, 1, "in", -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 2, 22000000 + i);
        sqlite3_bind_int64(insert, 3, (sqlite3_int64)(began * 1000));
        sqlite3_bind_blob(insert, 4, raw, sizeof raw, SQLITE_STATIC);
        check(sqlite3_step(insert), db, "insert");
        sqlite3_reset(insert);
        check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
        latencies[i] = now_seconds() - began;
    }
    double elapsed = now_seconds() - start;
    qsort(latencies, count, sizeof(double), compare);
    printf("rate=%.1f p50_us=%.0f p99_us=%.0f\n", count / elapsed, latencies[count / 2] * 1e6,
           latencies[(int)(count * 0.99)] * 1e6);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return 0;
}
