// FANIN_ISA_CLONES: compile a hot loop once per x86-64 level and pick the best copy when the
// library loads, so a library built for baseline x86-64 still runs AVX-512 where there is
// one. The library is built with -ffp-contract=off (GCC's C++ default, even in ISO mode,
// is to contract a*b + c into an FMA wherever the target has one, which only the AVX2 and
// AVX-512 copies have), so an element-wise loop computes the same bits in every copy.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FANIN_ISA_CLONES [[gnu::target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")]]
#else
#define FANIN_ISA_CLONES
#endif
