/* Baseline for `scripts/bench ascii`: the fastest a C program can read Toledo continuous frames
 * from the same pty: the tty set raw, one read() after another into a buffer, a frame counted at
 * each STX followed by FRAME_LENGTH - 1 more bytes, nothing checked or decoded. Says "ready" once
 * the tty is open, then prints the rate and CPU per 1000 frames in the same format as
 * weighbridge-bench, timed from the first byte. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

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
    if (argc != 4) {
        fprintf(stderr, "usage: %s TTY COUNT FRAME_LENGTH\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]);
    int frame_length = atoi(argv[3]);
    int fd = open(argv[1], O_RDONLY | O_NOCTTY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    struct termios options;
    tcgetattr(fd, &options);
    cfmakeraw(&options);
    tcsetattr(fd, TCSANOW, &options);
    printf("ready\n");
    fflush(stdout);
    unsigned char buffer[4096];
    long frames = 0;
    int in_frame = 0; /* bytes of the current frame seen, 0 outside one */
    double cpu = 0, start = 0;
    while (frames < count) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0) {
            perror("read");
            return 1;
        }
        if (start == 0) {
            start = now_seconds();
            cpu = cpu_seconds();
        }
        for (ssize_t i = 0; i < got; i++) {
            if (in_frame == 0 && buffer[i] != 0x02) continue;
            if (++in_frame == frame_length) {
                frames++;
                in_frame = 0;
            }
        }
    }
    double elapsed = now_seconds() - start;
    printf("rate=%.1f cpu_ms_per_1000=%.1f\n", count / elapsed, (cpu_seconds() - cpu) * 1e6 / count);
    return 0;
}
