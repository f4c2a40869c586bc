#pragma once

// ONEDOOR_WIDE before a function compiles it twice, for the x86-64 baseline and for x86-64-v3
// (AVX2, BMI2, FMA), and the program picks one copy at start-up from the CPU it runs on (GCC's
// target_clones, through an ifunc). For loops over columns of 64-bit values, which the
// baseline's SSE2 does not vectorise and v3 does four at a time. Put it on functions that do a
// lot of work per call (an indirect call each time). Empty under the sanitizers, whose runtimes
// start after the ifunc resolvers run, and on other compilers and architectures.

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define ONEDOOR_WIDE __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ONEDOOR_WIDE
#endif
