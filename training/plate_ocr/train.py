"""Trains the plate reader (model.py) with CTC on rendered plates
(render.py), CPU only, reproducibly: the data is a pure function of the
seed, and torch runs seeded on one thread.

The training set is rendered while the network trains (one process beside
the trainer, in a fixed order): each step takes --new_per_step crops it has
not seen and fills the batch with crops seen before, so training starts at
once and sees every crop; the order of the batches depends on the seed
alone (a step waits for its crops rather than taking others).

  /usr/bin/python3 train.py --out /tmp/plate_ocr_run
"""

import argparse
import json
import multiprocessing
import os
import subprocess
import time

import numpy as np
import torch
from torch import nn

import onnx_init
import render
import widen
from model import WIDTHS, PlateOcr


def _render_range(args):
    seed, start, stop = args
    xs, texts, regions = [], [], []
    for i in range(start, stop):
        x, text, region = render.sample(seed, i)
        xs.append(np.round(x * 127.5 + 127.5).astype(np.uint8))
        texts.append(text)
        regions.append(region)
    return np.stack(xs), texts, regions


def _cache_name(seed):
    """Cache files of recipes after the second say their recipe; the second's
    keep the names they had."""
    return f"plate_ocr_s{seed}" + ("" if render.RECIPE == 2 else f"_r{render.RECIPE}")


def _render_chunk_cached(args):
    seed, start, stop, cache_dir = args
    path = os.path.join(cache_dir, f"{_cache_name(seed)}_{start}_{stop}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["x"], list(d["texts"]), list(d["regions"])
    x, texts, regions = _render_range((seed, start, stop))
    np.savez(path + ".tmp.npz", x=x, texts=np.array(texts), regions=np.array(regions))
    os.replace(path + ".tmp.npz", path)
    return x, texts, regions


class StreamedSet:
    """count crops of one seed, rendered in order by a pool beside the
    trainer and cached on disk by chunk; `upto(n)` waits for the first n."""

    CHUNK = 500

    def __init__(self, seed, count, pool, cache_dir):
        os.makedirs(cache_dir, exist_ok=True)
        jobs = [(seed, s, min(count, s + self.CHUNK), cache_dir)
                for s in range(0, count, self.CHUNK)]
        self._parts = pool.imap(_render_chunk_cached, jobs)
        self.x = np.empty((count, render.INPUT_H, render.INPUT_W), np.uint8)
        self.texts, self.regions = [], []
        self.ready = 0

    def upto(self, n):
        while self.ready < min(n, len(self.x)):
            px, pt, pr = next(self._parts)
            self.x[self.ready:self.ready + len(px)] = px
            self.texts += pt
            self.regions += pr
            self.ready += len(px)


def render_set(seed, count, workers, cache_dir):
    """count rendered inputs (uint8) of one seed, cached on disk by (seed,
    count): rendering is the slow part and is deterministic."""
    path = os.path.join(cache_dir, f"{_cache_name(seed)}_n{count}.npz")
    if os.path.exists(path):
        d = np.load(path)
        return d["x"], list(d["texts"]), list(d["regions"])
    chunk = 500
    jobs = [(seed, s, min(count, s + chunk)) for s in range(0, count, chunk)]
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_render_range, jobs)
    x = np.concatenate([p[0] for p in parts])
    texts = sum((p[1] for p in parts), [])
    regions = sum((p[2] for p in parts), [])
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(path, x=x, texts=np.array(texts), regions=np.array(regions))
    return x, texts, regions


def to_tensor(x_uint8):
    return (torch.from_numpy(x_uint8).float().unsqueeze(1) - 127.5) / 127.5


def encode(texts):
    targets = [render.ALPHABET.index(c) + 1 for t in texts for c in t]
    return torch.tensor(targets, dtype=torch.long), torch.tensor([len(t) for t in texts])


def greedy(logits):
    """logits N x C x 1 x T -> texts (best path, repeats and blanks out)."""
    best = logits.squeeze(2).argmax(1).numpy()
    out = []
    for row in best:
        s, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                s.append(render.ALPHABET[k - 1])
            prev = k
        out.append("".join(s))
    return out


def evaluate(model, x, texts, regions, batch=256):
    model.eval()
    got = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            got += greedy(model(to_tensor(x[i:i + batch])))
    model.train()
    res = {}
    for r in sorted(set(regions)) + ["all"]:
        idx = [i for i in range(len(texts)) if r == "all" or regions[i] == r]
        res[r] = round(100.0 * sum(got[i] == texts[i] for i in idx) / max(1, len(idx)), 1)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--train_count", type=int, default=56000)
    ap.add_argument("--val_seed", type=int, default=1001)
    ap.add_argument("--val_count", type=int, default=900)
    ap.add_argument("--steps", type=int, default=5200)
    ap.add_argument("--new_per_step", type=int, default=12,
                    help="crops of each batch not seen before, until all are")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--workers", type=int, default=1,
                    help="rendering processes beside the trainer")
    ap.add_argument("--cache", default="/tmp/plate_ocr_cache")
    ap.add_argument("--out", required=True, help="directory for the checkpoint and log")
    ap.add_argument("--recipe", type=int, default=render.LATEST_RECIPE,
                    help="render.py's data recipe (render.RECIPE) for this phase's crops "
                         "and validation set")
    ap.add_argument("--init", default="",
                    help="a run directory whose checkpoint this run starts from (a second "
                         "phase on new crops); its summary is kept in this run's")
    ap.add_argument("--init_onnx", default="",
                    help="an exported model (e.g. ../../models/plate_ocr.onnx) this run starts "
                         "from, its BatchNorms rebuilt on the first --calib crops (onnx_init.py)")
    ap.add_argument("--init_summary", default="",
                    help="with --init_onnx: the JSON summary of the phases that trained it, "
                         "kept in this run's as with --init")
    ap.add_argument("--calib", type=int, default=512,
                    help="with --init_onnx: training crops the BatchNorms are rebuilt on")
    ap.add_argument("--width", choices=sorted(WIDTHS), default="base",
                    help="model.py's channel widths of this run's network")
    ap.add_argument("--widen", action="store_true",
                    help="with --init or --init_onnx: the starting network has its own "
                         "width (base for an ONNX file) and widen.py grows it to --width, "
                         "computing the same function but for a little noise on the copies")
    a = ap.parse_args()
    if a.widen and not (a.init or a.init_onnx):
        ap.error("--widen needs --init or --init_onnx")

    render.RECIPE = a.recipe  # before the pool forks: its workers render the same
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    t0 = time.time()
    pool = multiprocessing.Pool(a.workers)
    vx, vtexts, vregions = render_set(a.val_seed, a.val_count, a.workers, a.cache)
    data = StreamedSet(a.seed, a.train_count, pool, a.cache)
    render_s = time.time() - t0
    print(f"rendered {len(vx)} validation crops in {render_s:.0f} s", flush=True)
    wait_s = 0.0

    model = PlateOcr(a.width)
    previous = None
    if a.init:
        with open(os.path.join(a.init, "train_summary.json")) as f:
            previous = json.load(f)
        previous.pop("log", None)
        if a.widen:
            model = PlateOcr(previous.get("width", "base"))
        model.load_state_dict(torch.load(os.path.join(a.init, "plate_ocr.pt")))
    if a.init_onnx:
        if a.widen:
            model = PlateOcr("base")
        data.upto(a.calib)
        onnx_init.load(model, a.init_onnx, to_tensor(data.x[:a.calib]))
        if a.init_summary:
            with open(a.init_summary) as f:
                previous = json.load(f)
    if a.widen:
        a.val_before_widening = evaluate(model, vx, vtexts, vregions)
        model = widen.widen(model, a.width, seed=a.seed)
        print(json.dumps({"step": 0, "widened_from": model_width_of(previous, a),
                          "to": a.width, "val_before": a.val_before_widening}), flush=True)
    if a.init_onnx or a.widen:
        start = evaluate(model, vx, vtexts, vregions)
        print(json.dumps({"step": 0, "init_onnx": a.init_onnx, "val": start}), flush=True)
    a.previous = previous
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps,
                                                pct_start=0.15)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    order_rng = np.random.default_rng(a.seed)
    n = a.train_count
    order, pos = None, 0
    t1 = time.time()
    log = []
    for step in range(1, a.steps + 1):
        first_new = (step - 1) * a.new_per_step
        if first_new < n:  # new crops, the rest of the batch from those seen
            new = np.arange(first_new, min(n, first_new + a.new_per_step))
            tw = time.time()
            data.upto(new[-1] + 1)
            wait_s += time.time() - tw
            seen = max(1, first_new)
            idx = np.concatenate([new, order_rng.integers(0, seen, a.batch - len(new))])
        else:
            if order is None or pos + a.batch > n:
                order, pos = order_rng.permutation(n), 0
            idx = order[pos:pos + a.batch]
            pos += a.batch
        inp = to_tensor(data.x[idx])
        targets, lengths = encode([data.texts[i] for i in idx])
        logits = model(inp)
        logp = logits.squeeze(2).permute(2, 0, 1).log_softmax(2)  # T x N x C
        loss = ctc(logp, targets, torch.full((len(idx),), logp.shape[0], dtype=torch.long),
                   lengths)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps:
            line = {"step": step, "loss": round(loss.item(), 4),
                    "s": round(time.time() - t1), "waited_s": round(wait_s)}
            if step % 400 == 0 or step == a.steps:
                line["val"] = evaluate(model, vx, vtexts, vregions)
            print(json.dumps(line), flush=True)
            log.append(line)
            if "val" in line:  # a checkpoint to export if the run is cut short
                save(a, model, vx, vtexts, vregions, render_s, time.time() - t1, step, log)
    pool.terminate()


def model_width_of(previous, a):
    """The width of the network a run started from: its summary's, or base
    (every ONNX file before the wide network, and every summary without one)."""
    if a.init and not a.init_onnx and previous:
        return previous.get("width", "base")
    return "base"


def save(a, model, vx, vtexts, vregions, render_s, train_s, step, log):
    os.makedirs(a.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.out, "plate_ocr.pt"))
    summary = {
        "trainer_commit": subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", "render.py", "model.py", "train.py",
             "widen.py", "onnx_init.py"],
            cwd=os.path.dirname(os.path.abspath(__file__)), capture_output=True,
            text=True).stdout.strip(),
        "seed": a.seed, "recipe": a.recipe, "train_count": a.train_count, "val_seed": a.val_seed,
        "val_count": a.val_count, "steps": a.steps, "batch": a.batch, "lr": a.lr,
        "init_onnx": a.init_onnx, "width": a.width,
        "widened_from": model_width_of(a.previous, a) if a.widen else None,
        "val_before_widening": getattr(a, "val_before_widening", None),
        "steps_done": step, "new_per_step": a.new_per_step, "render_workers": a.workers,
        "waited_seconds": log[-1].get("waited_s"),
        "epochs": round(step * a.batch / a.train_count, 2),
        "render_seconds": round(render_s), "train_seconds": round(train_s),
        "val_rendered_exact_percent": log[-1].get("val"),
        "previous_phase": a.previous,
        "log": log,
    }
    with open(os.path.join(a.out, "train_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
