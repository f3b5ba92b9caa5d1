#!/usr/bin/env python3
"""Train a model in PyTorch and write a Skipper model folder (model.onnx, manifest.json, golden.json).

The documented path for users who train in Python. Needs Debian's python3-torch and python3-onnx
(`apt-get install python3-torch python3-onnx`; run with /usr/bin/python3), no other package:

    /usr/bin/python3 training/train_torch.py --data ../shared/data/binance_spot_BTCUSDT_1h_2020-01-01_2025-10-14.csv \
        --out models/torch-mlp --kind mlp
    npx skipper models check models/torch-mlp

Kinds:
  mlp     classifier: features -> probabilities over [sell, hold, buy] (output named "probabilities").
  policy  a Stable-Baselines3-shaped actor-critic policy exported the way SB3 documents it: one input named
          "input" (features + position + unrealized PnL, normalized by VecNormalize-style statistics kept in
          the manifest, as SB3 keeps them outside the graph), auto-named outputs in the order actions (int64),
          values, log_prob. Trained here by behaviour cloning on the direction labels (no SB3 on this machine);
          a real SB3 policy exported the same way is read by the same manifest.

Features come from training/features.py, the line-for-line Python mirror of the bot's TypeScript pipeline;
the golden file carries candles, these features, the torch outputs and the action decided from them, and the
bot checks all of them at load (the decided action against the manifest's action map).
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from features import FeaturePipeline, read_candles  # noqa: E402

OPSET = 17
EPS = 1e-8
CLIP = 10.0  # SB3 VecNormalize's default clip_obs
HERE = os.path.dirname(os.path.abspath(__file__))
CANON = {"flat": "hold", "long": "buy", "short": "sell"}  # the manifest's synonyms, as the bot reads them
TF_NAMES = {60_000: "1m", 180_000: "3m", 300_000: "5m", 900_000: "15m", 1_800_000: "30m", 3_600_000: "1h", 7_200_000: "2h",
            14_400_000: "4h", 21_600_000: "6h", 43_200_000: "12h", 86_400_000: "1d"}


def rows_for(candles, specs, horizon, tf):
    pipe = FeaturePipeline(specs)
    xs, rets = [], []
    for i, c in enumerate(candles):
        if not pipe.update(c):
            continue
        if i + horizon >= len(candles) or candles[i + horizon]["ts"] != c["ts"] + horizon * tf:
            continue
        xs.append(list(pipe.values))
        rets.append(candles[i + horizon]["close"] / c["close"] - 1)
    return np.array(xs, dtype=np.float64), np.array(rets, dtype=np.float64)


def timeframe_of(candles):
    gaps = {}
    for a, b in zip(candles[:500], candles[1:501]):
        d = b["ts"] - a["ts"]
        gaps[d] = gaps.get(d, 0) + 1
    tf = max(gaps, key=lambda d: (gaps[d], -d))
    if tf not in TF_NAMES:
        raise SystemExit(f"cannot tell the timeframe (spacing {tf} ms)")
    return tf


class Mlp(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 3))

    def forward(self, x):
        return self.net(x)


class Exported(nn.Module):
    """The classifier as exported: probabilities."""

    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def forward(self, x):
        return torch.softmax(self.mlp(x), dim=-1)


class ActorCritic(nn.Module):
    """The shape of SB3's ActorCriticPolicy with a Discrete action space (separate pi/vf MLPs, Tanh)."""

    def __init__(self, d, h=64, n_actions=3):
        super().__init__()
        self.policy_net = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh())
        self.value_net_body = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh())
        self.action_net = nn.Linear(h, n_actions)
        self.value_net = nn.Linear(h, 1)

    def logits_values(self, obs):
        return self.action_net(self.policy_net(obs)), self.value_net(self.value_net_body(obs))

    def forward(self, obs):
        # As `model.policy(obs, deterministic=True)`: actions (int64), values, log_prob of the chosen action.
        logits, values = self.logits_values(obs)
        actions = torch.argmax(logits, dim=1)
        log_prob = torch.log_softmax(logits, dim=1).gather(1, actions.unsqueeze(1)).squeeze(1)
        return actions, values, log_prob


def decided(dist):
    """The action of a [sell, hold, buy] distribution, as the bot's argmaxAction: a tie is a hold."""
    s, h, b = dist
    return "buy" if b > s and b > h else "sell" if s > b and s > h else "hold"


def scores(pred_actions, confidences, dists, rets, threshold):
    """Out-of-sample metrics, computed like src/models/outcomes.ts."""
    n = len(rets)
    directional = hits = correct = 0
    followed = 0.0
    brier = []
    for a, c, d, r in zip(pred_actions, confidences, dists, rets):
        realized = "buy" if r > threshold else "sell" if r < -threshold else "hold"
        correct += realized == a
        if d is not None:
            k = ["sell", "hold", "buy"].index(realized)
            brier.append(sum((d[i] - (1 if i == k else 0)) ** 2 for i in range(3)))
        if a == "hold":
            continue
        directional += 1
        hits += (r > 0) if a == "buy" else (r < 0)
        followed += r if a == "buy" else -r
    sig = lambda x: float(f"{x:.4g}")  # noqa: E731
    m = {"test_rows": n, "accuracy": sig(correct / n), "coverage": sig(directional / n),
         "hit_rate": sig(hits / directional) if directional else 0.0,
         "mean_return": sig(followed / directional) if directional else 0.0, "market_mean_return": sig(float(np.mean(rets)))}
    if brier:
        m["brier"] = sig(float(np.mean(brier)))
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="candle CSVs in time order")
    ap.add_argument("--out", required=True, help="model folder to write (models/NAME)")
    ap.add_argument("--kind", choices=["mlp", "policy"], default="mlp")
    ap.add_argument("--name")
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("--horizon", type=int, default=15)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=0, help="use only the last N candles of each file (0: all)")
    ap.add_argument("--features", default=os.path.join(HERE, "default-features.json"), help="feature list (JSON)")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(1)
    specs = json.load(open(a.features))
    name = a.name or os.path.basename(os.path.normpath(a.out))

    xs, rs, files, all_candles = [], [], [], []
    for f in a.data:
        candles = read_candles(f)
        if a.max_rows:
            candles = candles[-a.max_rows:]
        tf = timeframe_of(candles)
        x, r = rows_for(candles, specs, a.horizon, tf)
        xs.append(x)
        rs.append(r)
        files.append(os.path.basename(f))
        all_candles.append(candles)
    x = np.concatenate(xs)
    r = np.concatenate(rs)
    cut = int(len(r) * 0.7)
    x_tr, r_tr = x[: cut - a.horizon], r[: cut - a.horizon]
    x_te, r_te = x[cut:], r[cut:]
    threshold = float(f"{np.median(np.abs(r_tr)):.3g}")
    y_tr = np.where(r_tr < -threshold, 0, np.where(r_tr > threshold, 2, 1))
    counts = np.bincount(y_tr, minlength=3)
    class_w = torch.tensor(len(y_tr) / (3 * np.maximum(counts, 1)), dtype=torch.float32)

    extra = ["position", "unrealized_pnl"] if a.kind == "policy" else []
    rng = np.random.default_rng(a.seed)

    def with_extra(feat, n):
        if not extra:
            return feat
        pos = rng.integers(-1, 2, size=n).astype(np.float64)
        upnl = rng.normal(0, 0.01, size=n) * np.abs(pos)
        return np.column_stack([feat, pos, upnl])

    obs_tr = with_extra(x_tr, len(x_tr))
    mean = obs_tr.mean(axis=0)
    var = obs_tr.var(axis=0)

    def normalize(o):
        z = (o - mean) / np.sqrt(var + EPS)
        return np.clip(z, -CLIP, CLIP) if a.kind == "policy" else z

    z_tr = torch.tensor(normalize(obs_tr), dtype=torch.float32)
    t_tr = torch.tensor(y_tr, dtype=torch.long)
    d = z_tr.shape[1]
    # Action maps: the classifier uses [sell, hold, buy]; the policy an SB3-style [flat, long, short].
    policy_map = ["flat", "long", "short"]
    label_to_policy = torch.tensor([2, 0, 1])  # sell->short(2), hold->flat(0), buy->long(1)

    if a.kind == "mlp":
        net = Mlp(d, a.hidden)
        params = net.parameters()
    else:
        net = ActorCritic(d, a.hidden)
        params = net.parameters()
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(weight=class_w if a.kind == "mlp" else class_w[torch.tensor([1, 2, 0])])
    r_t = torch.tensor(r_tr * 100, dtype=torch.float32)
    for _ in range(a.epochs):
        perm = torch.randperm(len(t_tr))
        for i in range(0, len(perm), 256):
            idx = perm[i: i + 256]
            opt.zero_grad()
            if a.kind == "mlp":
                loss = loss_fn(net(z_tr[idx]), t_tr[idx])
            else:
                logits, values = net.logits_values(z_tr[idx])
                loss = loss_fn(logits, label_to_policy[t_tr[idx]]) + 0.1 * nn.functional.mse_loss(values.squeeze(1), r_t[idx])
            loss.backward()
            opt.step()
    net.eval()
    module = Exported(net) if a.kind == "mlp" else net

    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    dummy = torch.zeros(1, d)
    torch.onnx.export(module, dummy, onnx_path, input_names=["input"], opset_version=OPSET,
                      **({"output_names": ["probabilities"]} if a.kind == "mlp" else {}),
                      dynamic_axes={"input": {0: "batch"}})
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path))
    sha = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()

    def run(o):
        with torch.no_grad():
            return module(torch.tensor(normalize(o), dtype=torch.float32))

    obs_te = with_extra(x_te, len(x_te))
    out = run(obs_te)
    actions_map = ["sell", "hold", "buy"] if a.kind == "mlp" else [CANON[x] for x in policy_map]
    if a.kind == "mlp":
        p = out.numpy().astype(np.float64)
        pred = [actions_map[int(i)] for i in p.argmax(axis=1)]
        conf = p.max(axis=1)
        dists = list(p)
    else:
        acts, _values, logp = out
        pred = [actions_map[int(i)] for i in acts]
        conf = np.exp(logp.numpy())
        dists = [None] * len(pred)
    metrics = scores(pred, conf, dists, r_te, threshold)

    # Golden: the last warm-up + 24 candles of the last file, features from features.py, outputs from torch.
    candles = all_candles[-1]
    warm = FeaturePipeline(specs).warmup
    window = candles[-(warm + 24):]
    pipe = FeaturePipeline(specs)
    rows = []
    for i, c in enumerate(window):
        if not pipe.update(c):
            continue
        feats = list(pipe.values)
        row = {"index": i, "features": feats}
        o = np.array([feats], dtype=np.float64)
        if extra:
            ex = [float(len(rows) % 3 - 1), 0.004 * (len(rows) % 3 - 1)]
            row["extra"] = ex
            o = np.column_stack([o, [ex]])
        res = run(o)
        # What training decides from these outputs with the true map: the bot decodes them with the manifest's
        # and refuses the model if it disagrees (a reversed map). Classes of the mlp are [sell, hold, buy].
        if a.kind == "mlp":
            p = [float(v) for v in res[0]]
            row["outputs"] = {"probabilities": p}
            row["action"] = decided(p)
            row["dist"] = p
        else:
            row["outputs"] = {"actions": [int(res[0][0])], "value": [float(res[1][0][0])], "log_prob": [float(res[2][0])]}
            row["action"] = actions_map[int(res[0][0])]
        rows.append(row)
    golden = {"schemaVersion": 1, "generator": "training/features.py + training/train_torch.py",
              "candles": [[c["ts"], c["open"], c["high"], c["low"], c["close"], c["volume"]] for c in window],
              "rows": rows, "tolerance": {"features": 1e-9, "outputs": 1e-4}}

    iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa: E731
    manifest = {
        "schemaVersion": 1, "name": name, "version": a.version,
        "kind": "classifier" if a.kind == "mlp" else "policy",
        "description": f"PyTorch MLP {d}->{a.hidden}->{a.hidden}->3 (sell / hold / buy)" if a.kind == "mlp"
        else "SB3-shaped actor-critic policy (behaviour-cloned on direction labels)",
        "sha256": sha, "timeframe": TF_NAMES[timeframe_of(candles)],
        "input": {"name": "input", "dtype": "float32", "shape": ["batch", d]},
        "outputs": [{"role": "probabilities", "name": "probabilities"}] if a.kind == "mlp"
        else [{"role": "actions", "index": 0}, {"role": "value", "index": 1}, {"role": "log_prob", "index": 2}],
        "actions": ["sell", "hold", "buy"] if a.kind == "mlp" else policy_map,
        "features": specs,
        "observation": {"extra": extra},
        "normalization": {"kind": "standardize", "mean": [float(v) for v in mean], "var": [float(v) for v in var], "epsilon": EPS,
                          **({"clip": CLIP} if a.kind == "policy" else {})},
        "label": {"horizon": a.horizon, "target": "direction", "threshold": threshold},
        "training": {"trainer": f"training/train_torch.py (torch {torch.__version__.split('+')[0]}, opset {OPSET})", "data": files,
                     "from": iso(min(c[0]["ts"] for c in all_candles)), "to": iso(max(c[-1]["ts"] for c in all_candles)),
                     "rows": int(len(r_tr)), "seed": a.seed},
        "metrics": metrics,
    }
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")
    with open(os.path.join(a.out, "manifest.json"), "w") as f:  # last: it publishes the version
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{a.out}: {manifest['kind']} {name} v{a.version}, sha256 {sha[:12]}…, {json.dumps(metrics)}")


if __name__ == "__main__":
    main()
