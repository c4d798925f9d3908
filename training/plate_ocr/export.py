"""Exports a trained checkpoint to ONNX for OpenCV's DNN module and checks
it there: writes models/plate_ocr.onnx, the parity fixture the C++ test
compares OpenCV's output with (models/plate_ocr.parity.{png,txt}), the
held-back rendered crops of tests/data/plate_ocr/, and the manifest.

  /usr/bin/python3 export.py --run /tmp/plate_ocr_run --repo ../..
"""

import argparse
import glob
import json
import os
import time

import cv2
import numpy as np
import onnx
import torch

import render
from model import WIDTHS, PlateOcr
from train import greedy

HELD_BACK_SEED = 9001  # the C++ test's plates: in no training or validation set


def inline_identities(path):
    """torch's exporter shares equal folded weights through Identity nodes,
    which OpenCV 4.6 cannot import: give each user its own copy."""
    m = onnx.load(path)
    inits = {i.name: i for i in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[n.input[0]])
            copy.name = n.output[0]
            m.graph.initializer.append(copy)
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    onnx.save(m, path)


def read_cv(net, crops):
    """Greedy readings of grey crops through OpenCV's DNN, and ms each."""
    out, t0 = [], time.time()
    for g in crops:
        x = render.to_input(g)[None, None]
        net.setInput(x)
        out += greedy(torch.from_numpy(net.forward().copy()))
    return out, 1000 * (time.time() - t0) / max(1, len(crops))


def real_crops(directory):
    """Labelled photographs' plates cut at their labelled box and 10 %
    around it: for reporting (model selection) only, never training."""
    crops, texts = [], []
    for txt in sorted(glob.glob(os.path.join(directory, "*.txt"))):
        if os.path.basename(txt).lower() == "readme.txt":
            continue
        parts = open(txt).read().split()
        if len(parts) < 6:
            continue
        img = cv2.imread(os.path.join(directory, parts[0]), cv2.IMREAD_GRAYSCALE)
        if img is None:
            continue
        x, y, w, h = map(int, parts[1:5])
        mx, my = int(w * 0.1), int(h * 0.1)
        crop = img[max(0, y - my):y + h + my, max(0, x - mx):x + w + mx]
        if crop.size:
            crops.append(crop)
            texts.append(parts[5].upper())
    return crops, texts


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="train.py's --out")
    ap.add_argument("--repo", default="../..")
    ap.add_argument("--held_back_per_region", type=int, default=300)
    ap.add_argument("--test_crops_per_region", type=int, default=12)
    ap.add_argument("--real_dir", default="",
                    help="e.g. ../shared/datasets/plates: reported in the manifest only")
    a = ap.parse_args()
    torch.set_num_threads(1)
    models = os.path.join(a.repo, "models")
    os.makedirs(models, exist_ok=True)
    onnx_path = os.path.join(models, "plate_ocr.onnx")

    with open(os.path.join(a.run, "train_summary.json")) as f:
        width = json.load(f).get("width", "base")
    model = PlateOcr(width)
    model.load_state_dict(torch.load(os.path.join(a.run, "plate_ocr.pt")))
    model.eval()
    dummy = torch.zeros(1, 1, render.INPUT_H, render.INPUT_W)
    torch.onnx.export(model, dummy, onnx_path, opset_version=11, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)
    inline_identities(onnx_path)
    onnx.checker.check_model(onnx.load(onnx_path))
    ops = sorted({n.op_type for n in onnx.load(onnx_path).graph.node})
    net = cv2.dnn.readNetFromONNX(onnx_path)

    # Parity: three held-back crops, PyTorch's logits against OpenCV's.
    rows, expected, worst = [], [], 0.0
    for i, region in enumerate(render.REGIONS):
        x, _, _ = render.sample(HELD_BACK_SEED + 1, i, region)
        u8 = np.round(x * 127.5 + 127.5).astype(np.uint8)
        rows.append(u8)
        xin = ((u8.astype(np.float32) - 127.5) / 127.5)[None, None]
        with torch.no_grad():
            ref = model(torch.from_numpy(xin)).numpy()
        net.setInput(xin)
        got = net.forward()
        worst = max(worst, float(np.abs(ref - got).max()))
        expected.append(ref.reshape(-1))
    if worst > 1e-3:
        raise SystemExit(f"OpenCV and PyTorch differ by {worst}")
    cv2.imwrite(os.path.join(models, "plate_ocr.parity.png"), np.vstack(rows))
    with open(os.path.join(models, "plate_ocr.parity.txt"), "w") as f:
        f.write(f"# {len(rows)} inputs stacked in plate_ocr.parity.png ({render.INPUT_H} rows "
                f"each); per input the logits, classes x columns "
                f"{tuple(ref.shape)}, row-major\n")
        for e in expected:
            f.write(" ".join(f"{v:.6g}" for v in e) + "\n")

    # Held-back rendered plates per region, read through OpenCV.
    held = {}
    for region in render.REGIONS:
        crops, texts = [], []
        for i in range(a.held_back_per_region):
            rng = np.random.default_rng([HELD_BACK_SEED, i])
            g, t = render.render_crop(rng, region)
            crops.append(g)
            texts.append(t)
        got, ms = read_cv(net, crops)
        held[region] = {"exact_percent": round(100 * np.mean([g == t for g, t in
                                                              zip(got, texts)]), 1),
                        "ms_per_crop": round(ms, 2)}
        test_dir = os.path.join(a.repo, "tests", "data", "plate_ocr")
        os.makedirs(test_dir, exist_ok=True)
        # An earlier recipe's crops of the same index carry other texts in
        # their names: the test reads every file there.
        for old in glob.glob(os.path.join(test_dir, f"{region}_*.png")):
            os.remove(old)
        for i in range(a.test_crops_per_region):
            c = crops[i]  # at most the input's width: small files
            if c.shape[1] > render.INPUT_W:
                c = cv2.resize(c, (render.INPUT_W, max(1, c.shape[0] * render.INPUT_W //
                                                          c.shape[1])), interpolation=cv2.INTER_AREA)
            cv2.imwrite(os.path.join(test_dir, f"{region}_{i:02d}_{texts[i]}.png"), c,
                        [cv2.IMWRITE_PNG_COMPRESSION, 9])

    real = {}
    if a.real_dir:
        for sub in sorted(os.listdir(a.real_dir)):
            d = os.path.join(a.real_dir, sub)
            if os.path.isdir(d):
                crops, texts = real_crops(d)
                got, _ = read_cv(net, crops)
                real[sub] = {"images": len(texts), "exact_percent_at_labelled_box": round(
                    100 * np.mean([g == t for g, t in zip(got, texts)]), 1)}

    summary = json.load(open(os.path.join(a.run, "train_summary.json")))
    phases = []  # earliest first: each run that trained these weights
    s = summary
    while s:
        phases.insert(0, s)
        s = s.get("previous_phase")

    def recipe(p):
        start = "from scratch" if p is phases[0] else "from the phase before"
        if p.get("init_onnx"):  # train.py --init_onnx: onnx_init.py's rebuilt BatchNorms
            start = ("from the phase before's exported ONNX weights (its BatchNorms "
                     "rebuilt by onnx_init.py)")
        if p.get("widened_from"):  # train.py --widen
            start += (f", grown from the {p['widened_from']} network to the "
                      f"{p['width']} one by widen.py")
        return (f"{start}: seed {p['seed']}, recipe {p.get('recipe', 2)}, "
                f"{p['train_count']} crops, "
                f"{p.get('steps_done', p['steps'])} steps of {p['batch']}, peak lr {p.get('lr')}, "
                f"rendered beside the trainer in a fixed order, "
                f"{p.get('new_per_step', 'all')} unseen a step")

    manifest = {
        "model": "plate_ocr.onnx",
        "input": f"1x1x{render.INPUT_H}x{render.INPUT_W} grey, resized, min-max stretched, "
                 "(v - 127.5) / 127.5",
        "output": "logits 1 x 37 x 1 x 40: per column, CTC blank then " + render.ALPHABET,
        "onnx_opset": 11, "onnx_ops": ops,
        "trainer_commit": summary.get("trainer_commit", ""),
        "seed": summary["seed"],
        "data_recipe": {
            "renderer": f"training/plate_ocr/render.py (no photographs), held-back and "
                        f"test crops in recipe {render.RECIPE}",
            "train": f"regions {render.REGION_WEIGHTS}; " + "; then ".join(
                recipe(p) for p in phases),
            "validation": f"seed {summary['val_seed']}, {summary['val_count']} crops",
            "held_back": f"seed {HELD_BACK_SEED} (tests/data/plate_ocr, parity fixture "
                         f"seed {HELD_BACK_SEED + 1})",
            "notes": [p["note"] for p in phases if p.get("note")],
        },
        "steps": sum(p.get("steps_done", p["steps"]) for p in phases),
        "batch": summary["batch"],
        "epochs": round(sum(p["epochs"] for p in phases), 2),
        "validation_render_seconds": summary["render_seconds"],
        "seconds_waiting_for_rendering": sum(p.get("waited_seconds") or 0 for p in phases),
        "train_seconds": sum(p["train_seconds"] for p in phases),
        "threads": 1,
        "network": f"model.py PlateOcr({width!r}): channels {list(WIDTHS[width])}",
        "size_bytes": os.path.getsize(onnx_path),
        "parameters": sum(p.numel() for p in model.parameters()),
        "opencv_vs_torch_max_abs_diff": worst,
        "validation_rendered_exact_percent": summary["val_rendered_exact_percent"],
        "held_back_rendered_opencv": held,
        "labelled_photographs_at_box_not_trained_on": real,
    }
    with open(os.path.join(models, "plate_ocr.manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(json.dumps({k: manifest[k] for k in ("size_bytes", "held_back_rendered_opencv",
                                                "labelled_photographs_at_box_not_trained_on",
                                                "opencv_vs_torch_max_abs_diff")}, indent=1))


if __name__ == "__main__":
    main()
