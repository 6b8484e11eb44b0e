"""The W1/W2 training step in PyTorch, fed the exact arrays fanin_compare wrote.

fanin_compare (bench/compare.cc) writes x, y and fanin's flat parameters as raw float32
files and runs this script once per peer row; it prints three lines the runner parses:
  label <text>
  losses <mean BCE after 0 steps> <after 1> <after 10>
  times_ms <one wall time per timed step>
The step is what WORKLOADS.md defines: zero the gradients, forward, mean BCE-with-logits,
backward, plain SGD (lr from the command line). TF32 is off. The peer runs at its best: both
ways of zeroing the gradients are warmed up and timed, and the faster is reported.
"""

import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

REFERENCE_STEPS = (0, 1, 10)


def build_model(flat, features, units, activation):
    """nn.Sequential whose Linear layers hold fanin's kernels ([in x out]) transposed."""
    layers, offset, width = [], 0, features
    for i, out in enumerate(units):
        kernel = flat[offset:offset + width * out].reshape(width, out)
        offset += width * out
        bias = flat[offset:offset + out]
        offset += out
        linear = torch.nn.Linear(width, out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
            linear.bias.copy_(torch.from_numpy(bias))
        layers.append(linear)
        if i + 1 < len(units):
            layers.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
        width = out
    if offset != flat.size:
        raise SystemExit(f"parameter file holds {flat.size} floats, the model {offset}")
    return torch.nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--features", type=int, required=True)
    p.add_argument("--units", required=True, help="comma-separated widths, last = 1")
    p.add_argument("--activation", choices=["tanh", "relu"], required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--mode", choices=["eager", "compile"], default="eager")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--steps", type=int, required=True)
    a = p.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(a.device)
    units = [int(u) for u in a.units.split(",")]

    def load(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(a.data, name), dtype=np.float32)
                                .reshape(shape)).to(device)

    x = load("x.f32", (a.batch, a.features))
    y = load("y.f32", (a.batch, 1))
    flat = np.fromfile(os.path.join(a.data, "params.f32"), dtype=np.float32)
    model = build_model(flat, a.features, units, a.activation).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=a.lr)

    def loss_of_batch():
        return F.binary_cross_entropy_with_logits(model(x), y)

    compute_loss = loss_of_batch
    if a.mode == "compile":
        compute_loss = torch.compile(loss_of_batch, mode="reduce-overhead")

    # Zeroing in place (1.13's default) or to None (2.x's): each version is faster one way,
    # so both are timed and the faster is reported, the peer at its best.
    def step(set_to_none=False):
        optimizer.zero_grad(set_to_none=set_to_none)
        compute_loss().backward()
        optimizer.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def mean_loss():
        with torch.no_grad():
            return loss_of_batch().item()

    losses, taken = [], 0
    for k in REFERENCE_STEPS:
        for _ in range(k - taken):
            step()
        taken = k
        losses.append(mean_loss())

    def timed(set_to_none):
        for _ in range(a.warmup):
            step(set_to_none)
        sync()
        times = []
        for _ in range(a.steps):
            start = time.perf_counter()
            step(set_to_none)
            sync()
            times.append((time.perf_counter() - start) * 1e3)
        return times

    by_mode = {set_to_none: timed(set_to_none) for set_to_none in (False, True)}
    best = min(by_mode, key=lambda m: statistics.median(by_mode[m]))
    times = by_mode[best]

    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"cpu {torch.get_num_threads()}t")
    mode = "torch.compile reduce-overhead" if a.mode == "compile" else "eager"
    zeroing = "zero_grad(set_to_none=True)" if best else "zero_grad(set_to_none=False)"
    other = statistics.median(by_mode[not best])
    print(f"label torch {torch.__version__} {mode} {where}, {zeroing} (faster; the other "
          f"{other:.3f} ms median), {a.warmup} warm-up steps")
    print("losses " + " ".join(f"{v:.9g}" for v in losses))
    print("times_ms " + " ".join(f"{t:.6f}" for t in times))


if __name__ == "__main__":
    main()
