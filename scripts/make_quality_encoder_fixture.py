#!/usr/bin/python3
"""Fixture for the C++ quality encoder's parity test (tests/model/test_quality_encoder.cpp).

The reference is the design probe's network (PyTorch, Debian's python3-torch), written
here once more, independently of the C++ code: input features, the convolutional
encoder, pooling and heads. It writes a tiny random model (config.json +
model.safetensors, the bundled model's layout), three 48x64 RGB test images, and the
reference outputs for the views the engine builds (A with reference and B, A with B
only, A alone, the reference against itself).

    /usr/bin/python3 scripts/make_quality_encoder_fixture.py tests/data/quality_encoder
"""
import json, math, struct, sys, os
import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURES = ["image", "ref_diff", "ref_absdiff", "ref_gms", "highpass", "other_diff", "other_absdiff", "other_gms", "flags",
            "ref_gradratio", "other_gradratio", "other_highpass", "mscn", "other_mscn"]
CHANNELS = {"flags": 2, "mscn": 4, "other_mscn": 4}
SCALE = {"image": 1.0, "ref_diff": 4.0, "ref_absdiff": 8.0, "ref_gms": 4.0, "highpass": 8.0,
         "other_diff": 4.0, "other_absdiff": 8.0, "other_gms": 4.0, "flags": 1.0,
         "ref_gradratio": 1.0, "other_gradratio": 1.0, "other_highpass": 8.0,
         "mscn": 1.0, "other_mscn": 1.0}
PREWITT = torch.tensor([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=torch.float32) / 3.0
GMS_C = 170.0 / 255.0 ** 2


def luma(x):
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def grad_mag(y):
    yp = F.pad(y, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(yp, PREWITT.view(1, 1, 3, 3))
    gy = F.conv2d(yp, PREWITT.t().contiguous().view(1, 1, 3, 3))
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


def gms(x, r):
    H, W = x.shape[2:]
    out = []
    for s in (1, 2, 4):
        a = F.avg_pool2d(luma(x), s) if s > 1 else luma(x)
        b = F.avg_pool2d(luma(r), s) if s > 1 else luma(r)
        ma, mb = grad_mag(a), grad_mag(b)
        g = 1 - (2 * ma * mb + GMS_C) / (ma * ma + mb * mb + GMS_C)
        out.append(F.interpolate(g, size=(H, W), mode="nearest") if s > 1 else g)
    return torch.cat(out, 1)


def grad_ratio(x, r):
    H, W = x.shape[2:]
    out = []
    for s in (1, 2, 4):
        a = F.avg_pool2d(luma(x), s) if s > 1 else luma(x)
        b = F.avg_pool2d(luma(r), s) if s > 1 else luma(r)
        ma, mb = grad_mag(a), grad_mag(b)
        g = (ma - mb) / (ma + mb + 0.02)
        out.append(F.interpolate(g, size=(H, W), mode="nearest") if s > 1 else g)
    return torch.cat(out, 1)


def highpass(x):
    return (x - F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)).abs()


def mscn(x):
    """BRISQUE's mean-subtracted contrast-normalised luma (7x7 Gaussian, sigma 7/6, as one
    2-D kernel) at scales 1 and 1/2, and the products of horizontal and vertical neighbours."""
    H, W = x.shape[2:]
    t = torch.arange(7, dtype=torch.float64) - 3  # weights that do not sum to 1 shift E[y^2] - E[y]^2
    g = torch.exp(-t * t / (2 * (7 / 6) ** 2))
    kernel = (g[:, None] * g[None, :] / g.sum() ** 2).view(1, 1, 7, 7)
    blur = lambda y: F.conv2d(F.pad(y, (3, 3, 3, 3), mode="replicate"), kernel)

    def normalised(y):
        mu = blur(y)
        return (y - mu) / ((blur(y * y) - mu * mu).abs().sqrt() + 1 / 255)

    y = luma(x).double()  # as the C++ code: float rounding in flat regions is magnified
    fine = normalised(y)
    coarse = F.interpolate(normalised(F.avg_pool2d(y, 2)), size=(H, W), mode="nearest")
    right = torch.cat([fine[..., 1:], fine[..., -1:]], 3)
    below = torch.cat([fine[:, :, 1:], fine[:, :, -1:]], 2)
    return torch.cat([fine, coarse, fine * right, fine * below], 1).float()


def encoder_input(x, ref, other):
    N, _, H, W = x.shape
    z = lambda c: x.new_zeros(N, c, H, W)
    parts = []
    for f in FEATURES:
        if f == "image": c = x - 0.5
        elif f == "ref_diff": c = x - ref if ref is not None else z(3)
        elif f == "ref_absdiff": c = (x - ref).abs() if ref is not None else z(3)
        elif f == "ref_gms": c = gms(x, ref) if ref is not None else z(3)
        elif f == "highpass": c = highpass(x)
        elif f == "ref_gradratio": c = grad_ratio(x, ref) if ref is not None else z(3)
        elif f == "other_gradratio": c = grad_ratio(x, other) if other is not None else z(3)
        elif f == "other_highpass": c = highpass(other) if other is not None else z(3)
        elif f == "other_diff": c = x - other if other is not None else z(3)
        elif f == "other_absdiff": c = (x - other).abs() if other is not None else z(3)
        elif f == "other_gms": c = gms(x, other) if other is not None else z(3)
        elif f == "mscn": c = mscn(x)
        elif f == "other_mscn": c = mscn(other) if other is not None else z(4)
        elif f == "flags":
            c = torch.cat([x.new_full((N, 1, H, W), float(ref is not None)), x.new_full((N, 1, H, W), float(other is not None))], 1)
        parts.append(c * SCALE[f])
    return torch.cat(parts, 1)


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.first = nn.Conv2d(c, c, 3, 1, 1)
        self.second = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return x + self.second(F.gelu(self.first(x)))


class Encoder(nn.Module):
    def __init__(self, cin, widths, blocks, head, types):
        super().__init__()
        self.stem = nn.Conv2d(16 * cin, widths[0], 1)
        self.transitions = nn.ModuleList([nn.Conv2d(widths[0], widths[1], 3, 2, 1), nn.Conv2d(widths[1], widths[2], 3, 2, 1),
                                          nn.Conv2d(widths[2], widths[3], 1)])
        self.stages = nn.ModuleList([nn.ModuleList([Res(widths[s]) for _ in range(blocks[s])]) for s in range(4)])
        self.hidden = nn.Linear(2 * widths[3], head)
        self.score = nn.Linear(head, 1)
        self.aspects = nn.Linear(head, 15)
        self.types = nn.Linear(head, types)
        self.aspect_scores = nn.Linear(head, 5)

    def feature_map(self, x):
        x = F.gelu(self.stem(F.pixel_unshuffle(x, 4)))
        for s in range(4):
            if s > 0:
                x = F.gelu(self.transitions[s - 1](x))
            for b in self.stages[s]:
                x = b(x)
        return x

    def heads(self, fmap):
        flat = fmap.flatten(2)
        k = max(1, flat.shape[2] // 4)
        pooled = torch.cat([flat.mean(2), flat.topk(k, dim=2).values.mean(2)], 1)
        h = F.gelu(self.hidden(pooled))
        return pooled, h, self.score(h).squeeze(1), self.aspects(h).view(-1, 5, 3), self.types(h), self.aspect_scores(h)

    def named_weights(self):
        out = {"stem": self.stem}
        for s in range(1, 4):
            out[f"stages.{s}.transition"] = self.transitions[s - 1]
        for s in range(4):
            for b, blk in enumerate(self.stages[s]):
                out[f"stages.{s}.blocks.{b}.first"] = blk.first
                out[f"stages.{s}.blocks.{b}.second"] = blk.second
        out.update({"heads.hidden": self.hidden, "heads.score": self.score, "heads.aspects": self.aspects,
                    "heads.types": self.types, "heads.aspect_scores": self.aspect_scores})
        return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/quality_encoder"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    widths, blocks, head, types = [8, 8, 12, 16], [1, 1, 1, 1], 16, ["none", "gaussian_blur", "white_noise"]
    cin = sum(CHANNELS.get(f, 3) for f in FEATURES)
    enc = Encoder(cin, widths, blocks, head, types=len(types))
    # Larger than the default init so that every layer matters to the outputs.
    with torch.no_grad():
        for p in enc.parameters():
            p.normal_(0, 0.15)
    text_width = 8
    tensors = {}
    for name, m in enc.named_weights().items():
        tensors[f"vision_tower.{name}.weight"] = m.weight
        tensors[f"vision_tower.{name}.bias"] = m.bias
    # A minimal decoder and projector so that the directory loads as a whole model.
    g = torch.Generator().manual_seed(3)
    rnd = lambda *s: torch.randn(*s, generator=g) * 0.02
    qfeat = head + 1 + 15 + len(types) + 7 + 5 + 3
    tensors["multi_modal_projector.linear_1.weight"] = rnd(text_width, widths[3])
    tensors["multi_modal_projector.linear_1.bias"] = torch.zeros(text_width)
    tensors["multi_modal_projector.quality_token.weight"] = rnd(text_width, qfeat)
    tensors["multi_modal_projector.quality_token.bias"] = torch.zeros(text_width)
    t = "language_model.model."
    tensors[t + "embed_tokens.weight"] = rnd(32, text_width)
    p = t + "layers.0."
    tensors[p + "input_layernorm.weight"] = torch.ones(text_width)
    tensors[p + "post_attention_layernorm.weight"] = torch.ones(text_width)
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        tensors[p + f"self_attn.{n}.weight"] = rnd(text_width, text_width)
    tensors[p + "mlp.gate_proj.weight"] = rnd(16, text_width)
    tensors[p + "mlp.up_proj.weight"] = rnd(16, text_width)
    tensors[p + "mlp.down_proj.weight"] = rnd(text_width, 16)
    tensors[t + "norm.weight"] = torch.ones(text_width)
    tensors["language_model.lm_head.weight"] = rnd(32, text_width)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    config = {
        "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "projector_type": "linear",
        "multimodal_projector_bias": True, "vision_early_fusion": True, "image_token_index": -1,
        "vision_config": {"model_type": "depictqa_quality_encoder", "stage_widths": widths, "stage_blocks": blocks,
                          "input_features": FEATURES, "max_token_grid": 2, "head_width": head,
                          "distortion_types": types, "image_size": 64, "patch_size": 16, "hidden_size": widths[3],
                          "pair_scale": 2.5, "aspect_scores": True},
        "text_config": {"model_type": "llama", "vocab_size": 32, "hidden_size": text_width, "intermediate_size": 16,
                        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 4,
                        "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
                        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu"},
        "dtype": "float32"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # Test images: 48x64 (H x W) RGB, a pattern and two distortions of it, 8-bit values.
    torch.manual_seed(11)
    yy, xx = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    base = torch.stack([0.5 + 0.4 * torch.sin(xx / 5), 0.5 + 0.4 * torch.cos(yy / 7), (xx + yy) / 112.0])
    ref = (base * 255).round().clamp(0, 255) / 255
    a = ((ref + 0.08 * torch.randn_like(ref)) * 255).round().clamp(0, 255) / 255
    b = (F.avg_pool2d(F.pad(ref[None], (2, 2, 2, 2), mode="replicate"), 5, 1)[0] * 255).round() / 255
    ref, a, b = ref[None], a[None], b[None]
    expected = {"image.reference": ref, "image.a": a, "image.b": b}
    with torch.no_grad():
        for name, (x, r, o) in {"a_ref_other": (a, ref, b), "a_other": (a, None, b), "a_alone": (a, None, None),
                                "reference_self": (ref, ref, None)}.items():
            inp = encoder_input(x, r, o)
            fmap = enc.feature_map(inp)
            pooled, h, score, aspects, typ, aspect_scores = enc.heads(fmap)
            if name in ("a_ref_other", "a_alone"):
                expected[f"{name}.input"] = inp[0]
            expected[f"{name}.map"] = fmap[0]
            expected[f"{name}.pooled"] = pooled[0]
            expected[f"{name}.score"] = score
            expected[f"{name}.aspects"] = aspects[0]
            expected[f"{name}.types"] = typ[0]
            expected[f"{name}.aspect_scores"] = aspect_scores[0]
    write_safetensors(os.path.join(out, "expected.safetensors"), expected)
    print("wrote", out)


if __name__ == "__main__":
    main()
