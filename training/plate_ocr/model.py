"""A small fully convolutional CRNN: a conv stack that folds the height
away, 1xk convolutions over the width for context, and per column a class
(CTC blank + 0-9 + A-Z). No LSTM: OpenCV 4.6's DNN module imports every
operator here (Conv, BatchNormalization, Relu, MaxPool) from ONNX."""

import torch
from torch import nn

from render import ALPHABET, INPUT_H, INPUT_W

NUM_CLASSES = len(ALPHABET) + 1


def _block(cin, cout, k=(3, 3), pad=(1, 1), dil=(1, 1)):
    return [nn.Conv2d(cin, cout, k, padding=pad, dilation=dil, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateOcr(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *_block(1, 24), nn.MaxPool2d(2, 2),          # 24 x 80
            *_block(24, 48), nn.MaxPool2d(2, 2),         # 12 x 40
            *_block(48, 64), *_block(64, 64), nn.MaxPool2d((2, 1), (2, 1)),  # 6 x 40
            *_block(64, 96), nn.MaxPool2d((2, 1), (2, 1)),  # 3 x 40
            *_block(96, 128, k=(3, 1), pad=(0, 0)),      # 1 x 40
            *_block(128, 128, k=(1, 5), pad=(0, 2)),
            *_block(128, 128, k=(1, 5), pad=(0, 4), dil=(1, 2)),
        )
        self.classifier = nn.Conv2d(128, NUM_CLASSES, 1)

    def forward(self, x):
        """x: N x 1 x INPUT_H x INPUT_W -> logits N x classes x 1 x columns."""
        return self.classifier(self.features(x))


def columns():
    return INPUT_W // 4
