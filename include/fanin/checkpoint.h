// Checkpoints: a Sequential model, its optimizer state and its progress in one safetensors
// file (https://huggingface.co/docs/safetensors), which PyTorch and the Hugging Face tools
// open with no conversion.
//
//   fanin::SaveCheckpoint(model, "run/model.safetensors");
//   fanin::Sequential model = fanin::LoadCheckpoint("run/model.safetensors", backend);
//   model.Fit(x, y, {.epochs = 20, .initial_epoch = model.epochs_completed(), ...});
//
// Tensors (F32): "layers.<i>.kernel" [in x units] (the transpose of PyTorch's Linear
// weight) and "layers.<i>.bias" [units] for each Dense layer i; the optimizer's state,
// flat in parameters() order, as "optimizer.velocity" (SGD with momentum) or
// "optimizer.adam_m" and "optimizer.adam_v" (Adam). String metadata: "format"
// ("fanin.checkpoint/1"), "architecture" (JSON: input_features and the layers, each with
// its type, units, activation and initializer names), "loss" and "optimizer" (JSON, with
// every hyper-parameter), "steps", "epoch" (epochs completed), "seed" (Build's) and
// "fanin_version".
#pragma once

#include <memory>
#include <string>

#include "fanin/backend.h"
#include "fanin/model.h"

namespace fanin {

// Writes the built `model` to `path` atomically and durably: to a temporary file in the
// same folder, fsynced, then renamed over `path`, so that a crash or a full disk at any
// point leaves the previous file at `path` intact (a crash may leave a hidden
// ".<name>.tmp.XXXXXX" behind). Throws std::invalid_argument for a model that is not built
// or has a layer other than Dense and ActivationLayer, std::runtime_error naming `path`
// when the file cannot be written.
void SaveCheckpoint(const Sequential& model, const std::string& path);

// Rebuilds the model saved at `path` on `backend`: built, compiled with the saved loss and
// optimizer, with the saved parameters, optimizer state, step and epoch counts, so that a
// Fit with initial_epoch = epochs_completed() continues exactly as the uninterrupted run
// would have. Trusts nothing in the file: anything malformed or inconsistent (see
// safetensors.h for the format's checks; then missing or unknown metadata, tensors that
// are missing, unexpected, of the wrong shape or not finite, unknown layer types,
// activations, initializers or optimizers) throws std::runtime_error that names the file
// and the problem.
Sequential LoadCheckpoint(const std::string& path,
                          std::shared_ptr<Backend> backend = HostBackend());

}  // namespace fanin
