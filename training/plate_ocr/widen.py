"""Grows a trained PlateOcr into a wider one that computes the same function
(Net2WiderNet, Chen, Goodfellow and Shlens, ICLR 2016), so training the wider
network starts where the narrower one stopped instead of from scratch.

Each convolution's new output channels copy existing ones (the same filter,
the same BatchNorm); the next convolution's weights on a copied channel are
split evenly between its copies. BatchNorm, ReLU and max-pooling act per
channel, so the copies carry the same values and the sums are unchanged. A
little noise on the copies' filters lets them drift apart in training.
"""

import numpy as np
import torch
from torch import nn

from model import PlateOcr, feature_layers


def _split_inputs(weight, mapping, counts):
    """`weight`'s input channels laid out as the layer before's widened
    outputs (`mapping`), each divided among its `counts` copies."""
    share = torch.from_numpy(counts[mapping]).float().view(1, -1, 1, 1)
    return weight[:, mapping] / share


def widen(base, width, seed=0, noise=0.01):
    """A PlateOcr of `width` computing what `base` (a PlateOcr) computes, up
    to `noise` (relative to each filter's own spread) on the copies."""
    wide = PlateOcr(width)
    rng = np.random.default_rng(seed)
    old_convs, old_norms = feature_layers(base)
    new_convs, new_norms = feature_layers(wide)
    with torch.no_grad():
        previous = None  # (mapping, counts) of the layer before's channels
        for oc, on, nc, nn_ in zip(old_convs, old_norms, new_convs, new_norms):
            n_old, n_new = oc.out_channels, nc.out_channels
            if n_new < n_old:
                raise ValueError(f"cannot narrow {n_old} channels to {n_new}")
            mapping = np.concatenate(
                [np.arange(n_old), rng.integers(0, n_old, n_new - n_old)])
            counts = np.bincount(mapping, minlength=n_old)
            w = oc.weight.detach().clone()
            if previous is not None:
                w = _split_inputs(w, *previous)
            w = w[mapping].clone()
            if n_new > n_old:
                spread = w[n_old:].flatten(1).std(dim=1).view(-1, 1, 1, 1)
                w[n_old:] += noise * spread * torch.randn(w[n_old:].shape)
            nc.weight.copy_(w)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(nn_, name).copy_(getattr(on, name)[mapping])
            nn_.num_batches_tracked.copy_(on.num_batches_tracked)
            previous = (mapping, counts)
        wide.classifier.weight.copy_(_split_inputs(base.classifier.weight, *previous))
        wide.classifier.bias.copy_(base.classifier.bias)
    wide.train(base.training)
    return wide


if __name__ == "__main__":
    # A self-check: a base network with random BatchNorm statistics, widened
    # without noise, gives the same logits.
    torch.manual_seed(0)
    base = PlateOcr("base")
    for m in base.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    base.eval()
    x = torch.randn(4, 1, 48, 160)
    for noise in (0.0, 0.01):
        diff = (base(x) - widen(base, "wide", noise=noise).eval()(x)).abs().max().item()
        print(f"noise {noise}: largest logit difference {diff:.2e}")
        if noise == 0.0 and diff > 1e-4:
            raise SystemExit("widening changed the function")
