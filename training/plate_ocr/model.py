"""A small fully convolutional CRNN: a conv stack that folds the height
away, 1xk convolutions over the width for context, and per column a class
(CTC blank + 0-9 + A-Z). No LSTM: OpenCV 4.6's DNN module imports every
operator here (Conv, BatchNormalization, Relu, MaxPool) from ONNX."""

import torch
from torch import nn

from render import ALPHABET, INPUT_H, INPUT_W

NUM_CLASSES = len(ALPHABET) + 1

# Channels of the eight convolutions before the classifier (the third and
# fourth share a width, as do the last three). "base" is the network of the
# first five phases; "wide" widens its middle and its head (widen.py grows a
# trained base into it without changing what it computes).
WIDTHS = {
    "base": (24, 48, 64, 64, 96, 128, 128, 128),
    "wide": (24, 48, 96, 96, 144, 192, 192, 192),
}


def _block(cin, cout, k=(3, 3), pad=(1, 1), dil=(1, 1)):
    return [nn.Conv2d(cin, cout, k, padding=pad, dilation=dil, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateOcr(nn.Module):
    def __init__(self, width="base"):
        super().__init__()
        c = WIDTHS[width]
        self.features = nn.Sequential(
            *_block(1, c[0]), nn.MaxPool2d(2, 2),          # 24 x 80
            *_block(c[0], c[1]), nn.MaxPool2d(2, 2),       # 12 x 40
            *_block(c[1], c[2]), *_block(c[2], c[3]), nn.MaxPool2d((2, 1), (2, 1)),  # 6 x 40
            *_block(c[3], c[4]), nn.MaxPool2d((2, 1), (2, 1)),  # 3 x 40
            *_block(c[4], c[5], k=(3, 1), pad=(0, 0)),     # 1 x 40
            *_block(c[5], c[6], k=(1, 5), pad=(0, 2)),
            *_block(c[6], c[7], k=(1, 5), pad=(0, 4), dil=(1, 2)),
        )
        self.classifier = nn.Conv2d(c[7], NUM_CLASSES, 1)

    def forward(self, x):
        """x: N x 1 x INPUT_H x INPUT_W -> logits N x classes x 1 x columns."""
        return self.classifier(self.features(x))


def feature_layers(model):
    """(the convolutions, the BatchNorms) of a PlateOcr's feature stack, in
    order; the classifier is not among them."""
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    return convs, norms


def columns():
    return INPUT_W // 4
