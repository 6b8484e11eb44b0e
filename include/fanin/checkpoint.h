// Checkpoints: a Sequential model, its optimizer state and its progress in one safetensors
// file (https://huggingface.co/docs/safetensors), which PyTorch and the Hugging Face tools
// open with no conversion.
//
//   fanin::SaveCheckpoint(model, "run/model.safetensors");
//   fanin::Sequential model = fanin::LoadCheckpoint("run/model.safetensors", backend);
//   model.Fit(x, y, {.epochs = 20, .initial_epoch = model.epochs_completed(), ...});
//
// Tensors (F32): each layer i's parameters and state by name, "layers.<i>.<name>": Dense's
// "kernel" [in x units] (the transpose of PyTorch's Linear weight) and "bias" [units],
// BatchNormalization's "gamma", "beta", "moving_mean" and "moving_variance" [features]; the
// optimizer's state, flat in parameters() order, as "optimizer.velocity" (SGD with
// momentum) or "optimizer.adam_m" and "optimizer.adam_v" (Adam). String metadata: "format"
// ("fanin.checkpoint/1"), "architecture" (Sequential::ConfigJson: input_features and each
// layer's config), "loss" and "optimizer" (JSON, with every hyper-parameter), "steps",
// "epoch" (epochs completed), "seed" (Build's), "fanin_version" and "tensor_digests" (each
// tensor's 64-bit FNV-1a digest, checked on load; see src/safetensors.h).
#pragma once

#include <memory>
#include <string>

#include "fanin/backend.h"
#include "fanin/model.h"

namespace fanin {

// Writes the built `model` to `path` atomically and durably: to a temporary file in the
// same folder, fsynced, then renamed over `path`, so that a crash or a full disk at any
// point leaves the previous file at `path` intact (a crash may leave a hidden
// ".<name>.tmp.XXXXXX" behind). A symbolic link is written through to its target; a
// replaced file keeps its permission bits, a new one gets 0666 less the umask. Throws
// std::invalid_argument for a model that is not built; std::runtime_error naming `path`,
// before the old file is touched, for anything LoadCheckpoint would refuse (NaN or infinite
// parameters or optimizer state, as a diverged run has), for a `path` that is not a regular
// file (a directory, device, FIFO), or when the file cannot be written.
void SaveCheckpoint(const Sequential& model, const std::string& path);

// Rebuilds the model saved at `path` on `backend`: built, compiled with the saved loss and
// optimizer, with the saved parameters, optimizer state, step and epoch counts, so that a
// Fit with initial_epoch = epochs_completed() continues exactly as the uninterrupted run
// would have. Reads only a regular file (a directory, FIFO or device is refused without
// reading), no more than its size. Trusts nothing in the file: anything malformed or
// inconsistent (the format's structure, a tensor whose bytes disagree with its digest;
// then missing metadata, unknown fields, tensors that are missing, unexpected, of the
// wrong shape or not finite, a negative Adam second moment, unknown layer types,
// activations, initializers or optimizers, optimizer settings outside their range) throws
// std::runtime_error that names the file and the problem. Files without digests (earlier
// fanin versions, other writers) load without that check.
Sequential LoadCheckpoint(const std::string& path,
                          std::shared_ptr<Backend> backend = HostBackend());

// Keras's load_weights: the parameters and layer state (BatchNormalization's moving
// statistics) saved at `path`, into `model`, which must be built with the same
// architecture; its loss, optimizer, optimizer state and progress are kept. Throws
// std::invalid_argument for a model that is not built, or one whose architecture differs
// from the file's, naming the first difference ("layer 1 (dense) units: 3 in the file, 4
// in the model"); std::runtime_error, as LoadCheckpoint, for a file it would refuse. The
// model is untouched when it throws.
void LoadCheckpointInto(Sequential& model, const std::string& path);

}  // namespace fanin
