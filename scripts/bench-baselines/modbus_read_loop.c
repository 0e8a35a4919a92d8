/* Baseline for `scripts/bench modbus`: the fastest a libmodbus client can poll the same block
 * from the same simulator: one connection, one read after another, nothing else. Prints the rate
 * and CPU per 1000 reads in the same format as weighbridge-bench. */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT COUNT\n", argv[0]);
        return 2;
    }
    int count = atoi(argv[2]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_set_slave(ctx, 1);
    if (modbus_connect(ctx) != 0) {
        fprintf(stderr, "connect: %s\n", modbus_strerror(errno));
        return 1;
    }
    uint16_t registers[5];
    double cpu = cpu_seconds(), start = now_seconds();
    for (int i = 0; i < count; i++) {
        if (modbus_read_registers(ctx, 6, 5, registers) != 5) {
            fprintf(stderr, "read: %s\n", modbus_strerror(errno));
            return 1;
        }
    }
    double elapsed = now_seconds() - start;
    printf("rate=%.1f cpu_ms_per_1000=%.1f\n", count / elapsed, (cpu_seconds() - cpu) * 1e6 / count);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
