#!/usr/bin/python3
"""Probe: a convolutional quality encoder on depictqa-datagen shards (Debian python3-torch).

Chooses the design of the bundled model's vision encoder before it is built in C++.
Usage: scripts/probe_quality_encoder.py --data DIR --minutes 8 --variant NAME [--features ...] --out DIR
"""
import argparse, json, math, os, time, collections
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ASPECTS = ["brightness", "color", "noise", "artifacts", "blurriness"]
LEVELS = {"undistorted": 0, "mild": 1, "severe": 2}
NUM_TYPES = 25


# ----------------------------------------------------------------------------- data
class Split:
    def __init__(self, d):
        self.dir = d
        self.recs = []
        for f in sorted(os.listdir(d)):
            if f.endswith(".jsonl"):
                for line in open(os.path.join(d, f)):
                    self.recs.append(json.loads(line))
        self.bins = {}
        self.by_size = collections.defaultdict(list)
        for i, r in enumerate(self.recs):
            im = r["images"]["reference"]
            if im["width"] == im["height"] and im["width"] % 16 == 0:
                self.by_size[im["width"]].append(i)

    def image(self, loc):
        b = self.bins.get(loc["shard"])
        if b is None:
            b = np.memmap(os.path.join(self.dir, loc["shard"]), dtype=np.uint8, mode="r")
            self.bins[loc["shard"]] = b
        n = loc["width"] * loc["height"] * 3
        return np.asarray(b[loc["offset"]:loc["offset"] + n]).reshape(loc["height"], loc["width"], 3)


def image_label(q):
    """mos, aspect levels [5], dominant type (0 = none) of one questionnaire image."""
    levels = [LEVELS[q["aspects"][a]["level"]] for a in ASPECTS]
    t = 0
    if q["overall_level"] != "undistorted" and q["distortions"]:
        t = min(q["distortions"], key=lambda d: d["mos"])["type"]
    return q["mos"], levels, t


def sample_items(split, idx):
    r = split.recs[idx]
    q = r["questionnaire"]
    ref = split.image(r["images"]["reference"])
    a = split.image(r["images"]["A"])
    if r["task"] == "description":
        return ref, a, None, image_label(q["image"]), None
    b = split.image(r["images"]["B"])
    return ref, a, b, image_label(q["A"]), image_label(q["B"])


# ----------------------------------------------------------------------------- features
PREWITT_X = torch.tensor([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=torch.float32) / 3.0
GMS_C = 170.0 / 255.0 ** 2


def luma(x):  # [N,3,H,W] -> [N,1,H,W]
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def grad_mag(y):
    kx = PREWITT_X.view(1, 1, 3, 3)
    ky = PREWITT_X.t().contiguous().view(1, 1, 3, 3)
    yp = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(yp, kx)
    gy = F.conv2d(yp, ky)
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


def gms_dissimilarity(x, r, scales=(1, 2, 4)):
    """1 - GMS(x, r) at several scales, each upsampled back to full size: [N, len(scales), H, W]."""
    H, W = x.shape[2:]
    out = []
    yx, yr = luma(x), luma(r)
    for s in scales:
        a = F.avg_pool2d(yx, s) if s > 1 else yx
        b = F.avg_pool2d(yr, s) if s > 1 else yr
        ma, mb = grad_mag(a), grad_mag(b)
        g = 1 - (2 * ma * mb + GMS_C) / (ma * ma + mb * mb + GMS_C)
        if s > 1:
            g = F.interpolate(g, size=(H, W), mode="nearest")
        out.append(g)
    return torch.cat(out, 1)


def grad_ratio(x, r, scales=(1, 2, 4)):
    """(m_x - m_r) / (m_x + m_r + c): negative where x lost structure (blur), positive where it gained (noise)."""
    H, W = x.shape[2:]
    out = []
    yx, yr = luma(x), luma(r)
    for s in scales:
        a = F.avg_pool2d(yx, s) if s > 1 else yx
        b = F.avg_pool2d(yr, s) if s > 1 else yr
        ma, mb = grad_mag(a), grad_mag(b)
        g = (ma - mb) / (ma + mb + 0.02)
        if s > 1:
            g = F.interpolate(g, size=(H, W), mode="nearest")
        out.append(g)
    return torch.cat(out, 1)


def highpass(x):
    return (x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)).abs()


def gaussian_blur(y, sigma=7.0 / 6.0, k=7):
    t = torch.arange(k, dtype=y.dtype) - (k - 1) / 2
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    yp = F.pad(y, (k // 2,) * 4, mode="replicate")
    return F.conv2d(F.conv2d(yp, g.view(1, 1, 1, k)), g.view(1, 1, k, 1))


def mscn(x, scales=(1, 2)):
    """BRISQUE's natural-scene statistics, which carry across distortion types: the mean-
    subtracted contrast-normalised luma at two scales and, at full scale, the products of
    horizontal and vertical neighbours. [N,3,H,W] -> [N,4,H,W]."""
    H, W = x.shape[2:]
    out = []
    y0 = luma(x).double()  # float rounding in flat regions is magnified (core/model/quality_input.cpp)
    for s in scales:
        y = F.avg_pool2d(y0, s) if s > 1 else y0
        mu = gaussian_blur(y)
        sd = (gaussian_blur(y * y) - mu * mu).abs().sqrt()
        m = (y - mu) / (sd + 1.0 / 255.0)
        if s == 1:  # the last column (row) pairs with itself, as in core/model/quality_input.cpp
            mh = m * torch.cat([m[:, :, :, 1:], m[:, :, :, -1:]], 3)
            mv = m * torch.cat([m[:, :, 1:], m[:, :, -1:]], 2)
        else:
            m = F.interpolate(m, size=(H, W), mode="nearest")
        out.append(m)
    return torch.cat(out + [mh, mv], 1).float()


FEATURES = {
    # name: channels
    "image": 3, "ref_diff": 3, "ref_absdiff": 3, "ref_gms": 3, "highpass": 3,
    "other_diff": 3, "other_absdiff": 3, "other_gms": 3, "flags": 2,
    "ref_gradratio": 3, "other_gradratio": 3, "other_highpass": 3,
    "mscn": 4, "other_mscn": 4,
}


def encoder_input(x, ref, other, features):
    """x [N,3,H,W] in [0,1]; ref/other [N,3,H,W] or None (zeros)."""
    N, _, H, W = x.shape
    has_ref = ref is not None
    has_other = other is not None
    zeros3 = lambda: x.new_zeros(N, 3, H, W)
    chans = []
    for f in features:
        if f == "image":
            c = x - 0.5
        elif f == "ref_diff":
            c = x - ref if has_ref else zeros3()
        elif f == "ref_absdiff":
            c = (x - ref).abs() if has_ref else zeros3()
        elif f == "ref_gms":
            c = gms_dissimilarity(x, ref) if has_ref else zeros3()
        elif f == "highpass":
            c = highpass(x)
        elif f == "other_diff":
            c = x - other if has_other else zeros3()
        elif f == "other_absdiff":
            c = (x - other).abs() if has_other else zeros3()
        elif f == "other_gms":
            c = gms_dissimilarity(x, other) if has_other else zeros3()
        elif f == "ref_gradratio":
            c = grad_ratio(x, ref) if has_ref else zeros3()
        elif f == "other_gradratio":
            c = grad_ratio(x, other) if has_other else zeros3()
        elif f == "other_highpass":
            c = highpass(other) if has_other else zeros3()
        elif f == "mscn":
            c = mscn(x)
        elif f == "other_mscn":
            c = mscn(other) if has_other else x.new_zeros(N, 4, H, W)
        elif f == "flags":
            c = torch.cat([x.new_full((N, 1, H, W), 1.0 if has_ref else 0.0),
                           x.new_full((N, 1, H, W), 1.0 if has_other else 0.0)], 1)
        chans.append(c * SCALE[f])
    return torch.cat(chans, 1)


SCALE = {"image": 1.0, "ref_diff": 4.0, "ref_absdiff": 8.0, "ref_gms": 4.0, "highpass": 8.0,
         "other_diff": 4.0, "other_absdiff": 8.0, "other_gms": 4.0, "flags": 1.0,
         "ref_gradratio": 1.0, "other_gradratio": 1.0, "other_highpass": 8.0,
         "mscn": 1.0, "other_mscn": 1.0}


# ----------------------------------------------------------------------------- model
def conv(cin, cout, stride=1, k=3):
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2)


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = conv(c, c)
        self.b = conv(c, c)

    def forward(self, x):
        return x + self.b(F.gelu(self.a(x)))


class QualityEncoder(nn.Module):
    def __init__(self, cin, variant="cheap", widths=(48, 64, 96, 128)):
        super().__init__()
        self.variant = variant
        layers = []
        if variant == "full":  # 3x3 at full resolution, then four stride-2 stages
            layers += [conv(cin, 32), nn.GELU()]
            c = 32
            for w in widths:
                layers += [conv(c, w, 2), nn.GELU(), conv(w, w), nn.GELU()]
                c = w
        elif variant == "cheap":  # space-to-depth 2x2, then 3x3 at 1/2, three stride-2 stages
            layers += [nn.PixelUnshuffle(2), conv(4 * cin, widths[0]), nn.GELU(), conv(widths[0], widths[0]), nn.GELU()]
            c = widths[0]
            for w in widths[1:]:
                layers += [conv(c, w, 2), nn.GELU(), conv(w, w), nn.GELU()]
                c = w
        elif variant == "res":  # space-to-depth 4x4 + 1x1, residual 3x3 blocks, stride 16 overall
            layers += [nn.PixelUnshuffle(4), nn.Conv2d(16 * cin, widths[0], 1), nn.GELU(), Res(widths[0]), Res(widths[0])]
            c = widths[0]
            for w in widths[1:3]:
                layers += [conv(c, w, 2), nn.GELU(), Res(w)]
                c = w
            layers += [nn.Conv2d(c, widths[3], 1), nn.GELU(), Res(widths[3])]
            c = widths[3]
        elif variant == "cheaper":  # space-to-depth 4x4 + 1x1, then 3x3 at 1/4, two stride-2 stages
            layers += [nn.PixelUnshuffle(4), nn.Conv2d(16 * cin, widths[0], 1), nn.GELU(),
                       conv(widths[0], widths[0]), nn.GELU(), conv(widths[0], widths[0]), nn.GELU()]
            c = widths[0]
            for w in widths[1:3]:
                layers += [conv(c, w, 2), nn.GELU(), conv(w, w), nn.GELU()]
                c = w
            layers += [conv(c, widths[3], 2), nn.GELU(), conv(widths[3], widths[3]), nn.GELU()]
            c = widths[3]
        self.body = nn.Sequential(*layers)
        self.width = c
        d = 2 * c
        self.mlp = nn.Sequential(nn.Linear(d, 128), nn.GELU())
        self.score = nn.Linear(128, 1)
        self.aspects = nn.Linear(128, 15)
        self.kind = nn.Linear(128, NUM_TYPES + 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        for m in (self.score, self.aspects, self.kind):
            nn.init.normal_(m.weight, std=0.01)
        for m in self.modules():
            if isinstance(m, Res):
                nn.init.normal_(m.b.weight, std=0.1 * math.sqrt(2.0 / (9 * m.b.in_channels)))

    def pool(self, f):  # [N,C,h,w] -> [N,2C]: mean and mean of the top quarter per channel
        flat = f.flatten(2)
        k = max(1, flat.shape[2] // 4)
        top = flat.topk(k, dim=2).values.mean(2)
        return torch.cat([flat.mean(2), top], 1)

    def forward(self, x):
        f = self.body(x)
        h = self.mlp(self.pool(f))
        return f, self.score(h).squeeze(1), self.aspects(h).view(-1, 5, 3), self.kind(h)


# ----------------------------------------------------------------------------- training
def to_tensor(imgs):
    return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float().div_(255.0)


def make_views(split, idxs, rng, features, modes):
    """Returns list of groups; each group = (input tensor, labels...) of one mode."""
    refs, As, Bs, la, lb = [], [], [], [], []
    for i in idxs:
        ref, a, b, l1, l2 = sample_items(split, i)
        refs.append(ref); As.append(a); Bs.append(b); la.append(l1); lb.append(l2)
    ref = to_tensor(refs); A = to_tensor(As)
    pair = [i for i, b in enumerate(Bs) if b is not None]
    single = [i for i, b in enumerate(Bs) if b is None]
    groups = []
    for mode in modes:  # (with_ref, with_other)
        wr, wo = mode
        if wo:
            if not pair: continue
            a = A[pair]; b = to_tensor([Bs[i] for i in pair]); r = ref[pair]
            xa = encoder_input(a, r if wr else None, b, features)
            xb = encoder_input(b, r if wr else None, a, features)
            x = torch.cat([xa, xb])
            labs = [la[i] for i in pair] + [lb[i] for i in pair]
            groups.append(dict(x=x, labels=labs, npair=len(pair), mode=mode))
        else:
            x = encoder_input(A, ref if wr else None, None, features)
            groups.append(dict(x=x, labels=la, npair=0, mode=mode))
    return groups


def losses(model, g, w):
    f, s, asp, typ = model(g["x"])
    mos = torch.tensor([l[0] for l in g["labels"]])
    lev = torch.tensor([l[1] for l in g["labels"]])
    typ_t = torch.tensor([l[2] for l in g["labels"]])
    target = (mos - 3.0)
    L = {}
    L["reg"] = F.smooth_l1_loss(s, target)
    # ranking over all ordered pairs with a clear gap
    ds = s[:, None] - s[None, :]
    dm = mos[:, None] - mos[None, :]
    mask = dm.abs() >= 0.3
    if mask.any():
        L["rank"] = F.softplus(-ds[mask] * torch.sign(dm[mask]) * 3.0).mean()
    n = g["npair"]
    if n:
        d = (s[:n] - s[n:]) * 3.0
        gap = mos[:n] - mos[n:]
        t = torch.where(gap >= 0.3, 1.0, torch.where(gap <= -0.3, 0.0, 0.5))
        L["pair"] = F.binary_cross_entropy_with_logits(d, t)
    L["aspect"] = F.cross_entropy(asp.reshape(-1, 3), lev.view(-1))
    L["type"] = F.cross_entropy(typ, typ_t)
    total = sum(w.get(k, 1.0) * v for k, v in L.items())
    return total, L


def evaluate(model, split, features, maxn=1500):
    """2AFC of the score on pairs with |gap| >= 0.3 in FR and NR modes, classical metrics, aspect/type acc."""
    model.eval()
    ok = set(i for v in split.by_size.values() for i in v)
    pairs = [i for i, r in enumerate(split.recs) if r["task"] != "description" and i in ok
             and abs(r["questionnaire"]["mos_gap"]) >= 0.3][:maxn]
    pairs_set = set(pairs)
    res = collections.defaultdict(list)
    with torch.no_grad():
        for size, idxs in split.by_size.items():
            sel = [i for i in idxs if i in pairs_set]
            for k in range(0, len(sel), 64):
                chunk = sel[k:k + 64]
                items = [sample_items(split, i) for i in chunk]
                ref = to_tensor([it[0] for it in items]); A = to_tensor([it[1] for it in items]); B = to_tensor([it[2] for it in items])
                gap = torch.tensor([it[3][0] - it[4][0] for it in items])
                truth = gap > 0
                for name, wr, wo in [("FR", True, True), ("FR_single", True, False), ("NR", False, True), ("NR_single", False, False)]:
                    xa = encoder_input(A, ref if wr else None, B if wo else None, features)
                    xb = encoder_input(B, ref if wr else None, A if wo else None, features)
                    _, sa, aa, ta = model(xa)
                    _, sb, ab, tb = model(xb)
                    res[name] += ((sa > sb) == truth).tolist()
                    if name in ("FR", "NR", "NR_single", "FR_single"):
                        lev = torch.tensor([it[3][1] for it in items] + [it[4][1] for it in items])
                        pred = torch.cat([aa, ab]).argmax(2)
                        res[name + "_aspect_bin"] += ((pred > 0) == (lev > 0)).flatten().tolist()
                        tt = torch.tensor([it[3][2] for it in items] + [it[4][2] for it in items])
                        tp = torch.cat([ta, tb]).argmax(1)
                        res[name + "_type"] += (tp == tt)[tt > 0].tolist()
                # classical
                mse_a = ((A - ref) ** 2).flatten(1).mean(1); mse_b = ((B - ref) ** 2).flatten(1).mean(1)
                res["PSNR"] += ((mse_a < mse_b) == truth).tolist()
                ga = gmsd(A, ref); gb = gmsd(B, ref)
                res["GMSD"] += ((ga < gb) == truth).tolist()
    model.train()
    return {k: (float(np.mean(v)), len(v)) for k, v in res.items()}


def gmsd(x, r):
    yx, yr = luma(x) * 255, luma(r) * 255
    yx = F.avg_pool2d(yx, 2); yr = F.avg_pool2d(yr, 2)
    ma, mb = grad_mag(yx), grad_mag(yr)
    c = 170.0
    g = (2 * ma * mb + c) / (ma * ma + mb * mb + c)
    return g.flatten(1).std(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="depictqa-datagen output with train, val, val_types")
    ap.add_argument("--minutes", type=float, default=8)
    ap.add_argument("--steps", type=int, default=0, help="train this many steps instead of --minutes (equal work under load)")
    ap.add_argument("--variant", default="cheap")
    ap.add_argument("--features", default="image,ref_diff,ref_absdiff,ref_gms,highpass,other_diff,other_absdiff,other_gms,flags")
    ap.add_argument("--widths", default="48,64,96,128")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--eval-n", type=int, default=1500)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    feats = a.features.split(",")
    cin = sum(FEATURES[f] for f in feats)
    model = QualityEncoder(cin, a.variant, tuple(int(w) for w in a.widths.split(",")))
    nparam = sum(p.numel() for p in model.parameters())
    print(f"params {nparam}  cin {cin}", flush=True)
    train = Split(os.path.join(a.data, "train"))
    val = Split(os.path.join(a.data, "val"))
    valt = Split(os.path.join(a.data, "val_types"))
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.99))
    sizes = sorted(train.by_size)
    t0 = time.time()
    step = 0
    seen = 0
    budget = a.minutes * 60
    modes = [(True, True), (True, False), (False, True), (False, False)]
    hist = collections.defaultdict(float)
    def done_fraction():
        return step / a.steps if a.steps else (time.time() - t0) / budget

    while done_fraction() < 1.0:
        frac = done_fraction()
        lr = a.lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gp in opt.param_groups: gp["lr"] = lr
        size = sizes[rng.integers(len(sizes))]
        pool = train.by_size[size]
        bs = max(8, int(a.batch * (96 / size) ** 2))
        idxs = rng.choice(pool, size=bs, replace=False)
        mode = modes[rng.integers(4)]
        groups = make_views(train, idxs, rng, feats, [mode])
        loss = 0
        for g in groups:
            l, parts = losses(model, g, {})
            loss = loss + l
            for k, v in parts.items(): hist[k] = 0.98 * hist[k] + 0.02 * float(v)
            seen += g["x"].shape[0]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 100 == 0:
            el = time.time() - t0
            print(f"step {step} {el:.0f}s views {seen} ({seen/el:.0f}/s) lr {lr:.2e} " +
                  " ".join(f"{k} {v:.3f}" for k, v in hist.items()), flush=True)
    el = time.time() - t0
    print(f"trained {step} steps, {seen} views in {el:.0f} s", flush=True)
    os.makedirs(a.out, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    out = {"args": vars(a), "params": nparam, "steps": step, "views": seen}
    for name, sp in [("val", val), ("val_types", valt)]:
        r = evaluate(model, sp, feats, a.eval_n)
        out[name] = r
        print(name, " ".join(f"{k} {v[0]*100:.1f}({v[1]})" for k, v in sorted(r.items())), flush=True)
    json.dump(out, open(os.path.join(a.out, "result.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
