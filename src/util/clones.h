/* EMO_CLONES: build a function for AVX-512, AVX2 and the baseline, and let
 * the loader pick (GCC target_clones, an ifunc). Not under ThreadSanitizer:
 * ifunc resolvers run before its runtime is initialised and crash. */
#ifndef EMOTOP_CLONES_H
#define EMOTOP_CLONES_H
#if defined(__SANITIZE_THREAD__)
#define EMO_CLONES
#else
#define EMO_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
