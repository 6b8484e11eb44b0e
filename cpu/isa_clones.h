// FANIN_ISA_CLONES: compile a hot loop once per x86-64 level and pick the best copy when the
// library loads, so a library built for baseline x86-64 still runs AVX-512 where there is
// one. ISO C++ mode leaves FMA contraction off, so an element-wise loop computes the same
// bits in every copy; a reduction's last bits may depend on the copy's vector width.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FANIN_ISA_CLONES [[gnu::target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")]]
#else
#define FANIN_ISA_CLONES
#endif
