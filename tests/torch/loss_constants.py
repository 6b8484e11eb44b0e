#!/usr/bin/env python3
"""Prints the PyTorch values that tests/loss_test.cc holds as constants (kTorch...).

Every input and smoothing is a dyadic fraction, exact in float, so that fanin's float inputs
are the very values PyTorch sees. Run with a Python that has torch (the values in the test came from PyTorch 1.13, Debian's
python3-torch, in float64):  /usr/bin/python3 tests/torch/loss_constants.py
Each case: the mean loss over the samples and d(mean loss)/d(output), as C++ initializers.
Keras's label smoothing for binary cross-entropy (y (1 - s) + s / 2) has no PyTorch switch,
so it is applied to the labels here; PyTorch's cross_entropy(label_smoothing=s) is Keras's.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def emit(name, loss, grad):
    flat = ", ".join(f"{v:.17g}" for v in grad.reshape(-1).tolist())
    print(f"// {name}\n{{{loss.item():.17g}, {{{flat}}}}},")


def case(name, f, out):
    out = out.clone().requires_grad_(True)
    loss = f(out)
    loss.backward()
    emit(name, loss, out.grad)


Z = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 0.25, 4.0], [0.0, 0.0, 0.0], [1e4, -1e4, 3.0]])
INDEX = torch.tensor([0, 2, 1, 1])
SOFT = torch.tensor([[0.75, 0.125, 0.125], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5], [0.25, 0.75, 0.0]])
LOGIT = torch.tensor([[3.0], [-2.0], [0.5], [1e4], [-1e4], [0.0]])
BINARY = torch.tensor([[1.0], [0.0], [0.375], [0.0], [0.0], [1.0]])
PROB = torch.tensor([[0.875], [0.25], [0.5], [1 - 2**-10], [2**-10], [0.625]])
OUT = torch.tensor([[1.5, -2.0], [0.25, 0.0], [-1.0, 3.0]])
TARGET = torch.tensor([[1.0, -1.0], [0.0, 0.5], [-1.0, 2.0]])

case("binary_crossentropy from logits", lambda o: F.binary_cross_entropy_with_logits(o, BINARY), LOGIT)
case("binary_crossentropy from logits, label_smoothing 0.25",
     lambda o: F.binary_cross_entropy_with_logits(o, BINARY * 0.75 + 0.125), LOGIT)
case("binary_crossentropy from probabilities", lambda o: F.binary_cross_entropy(o, BINARY), PROB)
case("sparse_categorical_crossentropy", lambda o: F.cross_entropy(o, INDEX), Z)
case("sparse_categorical_crossentropy, label_smoothing 0.25",
     lambda o: F.cross_entropy(o, INDEX, label_smoothing=0.25), Z)
case("categorical_crossentropy, soft labels", lambda o: F.cross_entropy(o, SOFT), Z)
case("categorical_crossentropy, soft labels, label_smoothing 0.5",
     lambda o: F.cross_entropy(o, SOFT, label_smoothing=0.5), Z)
case("mean_squared_error", lambda o: F.mse_loss(o, TARGET), OUT)
case("mean_absolute_error", lambda o: F.l1_loss(o, TARGET), OUT)
