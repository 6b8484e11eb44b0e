// The factories of the built-in losses, which the registry (registry.cc) starts with, and the
// label-check message they share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fanin/config.h"
#include "fanin/loss.h"

namespace fanin::internal {

std::unique_ptr<Loss> MakeBinaryCrossEntropy(const Config& config);
std::unique_ptr<Loss> MakeCategoricalCrossEntropy(const Config& config);
std::unique_ptr<Loss> MakeRegressionError(const Config& config);

// Throws std::invalid_argument: "<what>: y[<row>, <col>] = <value>; <loss> needs <rule>".
[[noreturn]] void BadLabel(std::string_view what, std::string_view loss, int64_t index,
                           int64_t columns, float value, std::string_view rule);

// label_smoothing of a config, checked to lie in [0, 1].
float LabelSmoothing(const Config& config);

}  // namespace fanin::internal
