"""Starts a PlateOcr from an exported ONNX file (train.py --init_onnx).

The export folds each BatchNorm into the convolution before it, so the
file holds a weight and a bias per convolution and no normalisation. To
train on, each BatchNorm is rebuilt so the network computes the same
function: with z a channel's un-normalised convolution output (folded
weight, no bias) of mean m and variance v over a batch of crops, gamma =
sqrt(v + eps) and beta = m + folded bias, running mean m and variance v.
In eval mode that is exactly z + bias; in train mode it is the same up to
how far the batch's statistics stray from the calibration batch's.
"""

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from model import feature_layers


def _conv_tensors(path):
    """(weight, bias) of every Conv node of the file, in graph order."""
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return [(inits[n.input[1]], inits[n.input[2]]) for n in m.graph.node
            if n.op_type == "Conv"]


def load(model, path, calib):
    """Loads path's weights into model (a PlateOcr) and rebuilds its
    BatchNorms from calib (N x 1 x H x W float crops, as the model takes)."""
    convs, norms = feature_layers(model)
    convs = convs + [model.classifier]
    tensors = _conv_tensors(path)
    if len(tensors) != len(convs) or len(norms) != len(convs) - 1:
        raise ValueError(f"{path}: {len(tensors)} convolutions, the model has {len(convs)}")
    biases = []
    with torch.no_grad():
        for conv, (w, b) in zip(convs, tensors):
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(f"{path}: weight {w.shape}, model {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w.copy()))
            biases.append(torch.from_numpy(b.copy()))
        model.classifier.bias.copy_(biases[-1])
        # First an exact identity-plus-bias in eval mode, to collect z.
        for bn, b in zip(norms, biases):
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
            bn.weight.fill_(float(np.sqrt(1.0 + bn.eps)))
            bn.bias.copy_(b)
        stats = {}
        hooks = [conv.register_forward_hook(
            lambda mod, inp, out, k=k: stats.__setitem__(k, out.detach()))
            for k, conv in enumerate(convs[:-1])]
        was_training = model.training
        model.eval()
        model(calib)
        for h in hooks:
            h.remove()
        for k, (bn, b) in enumerate(zip(norms, biases)):
            z = stats[k]
            mean = z.mean(dim=(0, 2, 3))
            var = z.var(dim=(0, 2, 3), unbiased=False)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mean + b)
        model.train(was_training)
    return model
