#!/usr/bin/python3
"""Tiny stand-ins for the published DepictQA-Wild files, and reference outputs, for
tests/model/test_convert.cpp (`depictqa convert`).

Run once with Debian's PyTorch (apt-get install python3-torch; torch 1.13):

    /usr/bin/python3 scripts/make_convert_fixtures.py            # -> tests/data/convert/

CI never runs this script: the test reads the committed files. Everything is random
(seeded) and tiny, but has exactly the key names and file formats of the real files:

  ViT-L-14.pt       OpenAI CLIP as torch.jit.trace + torch.jit.save writes it (ViT with
                    `visual.*` names, fused attn.in_proj_*, text tower beside it), float16
  vicuna-tiny/      Hugging Face LLaMA: config.json + pytorch_model.bin (torch.save of the
                    state dict, float32, with the rotary_emb.inv_freq buffers that
                    transformers 4.31 saved); tokenizer.model is the shared tiny
                    SentencePiece model (the test copies it in)
  vicuna-tiny-st/   the same weights as two float16 safetensors shards + index
  ckpt.pt           DepictQA's delta checkpoint (torch.save of an OrderedDict): LoRA A/B
                    of q/k/v/o under peft names `llm.base_model.model.model.layers.N.
                    self_attn.q_proj.lora_A.weight` + vision_proj.{weight,bias}, float16
  ckpt_peft_default.pt  the same with peft >= 0.3's adapter name (`lora_A.default.weight`)
                    and without the leading `llm.`
  expected.safetensors  reference outputs computed below with plain torch ops

Every weight is rounded to a float16-representable value, so the float32 and float16
copies describe the same model and the references hold for both.
"""
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

torch.manual_seed(20240607)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "data", "convert")

# Shapes. CLIP: width 128 -> 2 heads by OpenAI's rule (width // 64); 42 px / patch 14
# = a 3x3 grid. LLaMA: vocab 400 = the shared tiny SentencePiece model.
CLIP_WIDTH, CLIP_LAYERS, CLIP_MLP, PATCH, RES = 128, 2, 256, 14, 42
CLIP_HEADS = CLIP_WIDTH // 64
TEXT_WIDTH, TEXT_VOCAB, TEXT_CTX, EMBED_DIM = 32, 50, 8, 16
VOCAB, HIDDEN, INTER, LAYERS, HEADS, KV_HEADS = 400, 32, 64, 2, 4, 4
RMS_EPS, ROPE_THETA = 1e-5, 10000.0
LORA_R = 4


def f16able(t):
    return t.half().float()


# ---------------------------------------------------------------- CLIP, OpenAI layout
class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d, mlp)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(mlp, d))]))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x):  # x: [L, N, D] (sequence first, as OpenAI's code)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, d, layers, heads, mlp):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(d, heads, mlp) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        d = CLIP_WIDTH
        self.conv1 = nn.Conv2d(3, d, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(d) * d ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((RES // PATCH) ** 2 + 1, d) * d ** -0.5)
        self.ln_pre = nn.LayerNorm(d)
        self.transformer = Transformer(d, CLIP_LAYERS, CLIP_HEADS, CLIP_MLP)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(torch.randn(d, EMBED_DIM) * d ** -0.5)

    def tokens(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)                      # [N, grid², D]
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding         # [N, 1+grid², D]
        x = self.ln_pre(x).permute(1, 0, 2)
        return self.transformer(x).permute(1, 0, 2)                        # [N, 1+grid², D]

    def forward(self, x):
        return self.ln_post(self.tokens(x)[:, 0, :]) @ self.proj

    def forward_patch_features(self, x):  # what DepictQA feeds its projector
        return self.tokens(x)[:, 1:, :]


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisionTransformer()
        self.transformer = Transformer(TEXT_WIDTH, 1, 1, 4 * TEXT_WIDTH)
        self.token_embedding = nn.Embedding(TEXT_VOCAB, TEXT_WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(TEXT_CTX, TEXT_WIDTH) * 0.01)
        self.ln_final = nn.LayerNorm(TEXT_WIDTH)
        self.text_projection = nn.Parameter(torch.randn(TEXT_WIDTH, EMBED_DIM) * 0.1)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        # OpenAI's archives carry these as tensors next to the weights.
        self.register_buffer("input_resolution", torch.tensor(RES))
        self.register_buffer("context_length", torch.tensor(TEXT_CTX))
        self.register_buffer("vocab_size", torch.tensor(TEXT_VOCAB))

    def forward(self, image, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.ln_final(self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2))
        text_features = x[:, -1, :] @ self.text_projection
        return self.visual(image) @ text_features.t() * self.logit_scale.exp()


def randomize_(module):
    # No layer may be trivially identity: norms' gains in [0.8, 1.2], every bias non-zero.
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "ln_" in name and name.endswith(".weight"):
                p.uniform_(0.8, 1.2)
            elif name.endswith("bias"):
                p.normal_(0, 0.1)
            elif p.dim() == 2 and name.endswith("weight"):
                p.normal_(0, p.shape[1] ** -0.5)
            p.copy_(f16able(p))


def clip_patch_features(sd, pixels):
    """OpenAI CLIP ViT patch tokens of the last layer (before ln_post), CLS dropped, from
    the state dict with plain torch ops: the reference the converted model must match."""
    g = lambda k: sd["visual." + k].float()
    D = g("conv1.weight").shape[0]
    x = torch.nn.functional.conv2d(pixels, g("conv1.weight"), stride=PATCH)  # [N, D, 3, 3]
    x = x.flatten(2).transpose(1, 2)                                         # [N, 9, D]
    x = torch.cat([g("class_embedding").expand(x.shape[0], 1, D), x], 1) + g("positional_embedding")

    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (D,), g(p + ".weight"), g(p + ".bias"), 1e-5)

    x = ln(x, "ln_pre")
    for i in range(CLIP_LAYERS):
        p = f"transformer.resblocks.{i}."
        h = ln(x, p + "ln_1")
        qkv = h @ g(p + "attn.in_proj_weight").t() + g(p + "attn.in_proj_bias")  # [N, T, 3D]
        q, k, v = qkv.chunk(3, dim=-1)
        N, T, _ = q.shape
        hd = D // CLIP_HEADS
        split = lambda t: t.view(N, T, CLIP_HEADS, hd).transpose(1, 2)           # [N, H, T, hd]
        att = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(hd), -1)
        o = (att @ split(v)).transpose(1, 2).reshape(N, T, D)
        x = x + o @ g(p + "attn.out_proj.weight").t() + g(p + "attn.out_proj.bias")
        h = ln(x, p + "ln_2") @ g(p + "mlp.c_fc.weight").t() + g(p + "mlp.c_fc.bias")
        h = h * torch.sigmoid(1.702 * h)
        x = x + h @ g(p + "mlp.c_proj.weight").t() + g(p + "mlp.c_proj.bias")
    return x[:, 1:, :]


# ---------------------------------------------------------------- LLaMA, HF layout
def llama_state_dict():
    hd = HIDDEN // HEADS
    sd = OrderedDict()
    n = lambda *shape: f16able(torch.randn(*shape) * shape[-1] ** -0.5)
    gain = lambda: f16able(torch.empty(HIDDEN).uniform_(0.8, 1.2))
    sd["model.embed_tokens.weight"] = f16able(torch.randn(VOCAB, HIDDEN))
    inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2).float() / hd))
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        sd[p + "self_attn.q_proj.weight"] = n(HEADS * hd, HIDDEN)
        sd[p + "self_attn.k_proj.weight"] = n(KV_HEADS * hd, HIDDEN)
        sd[p + "self_attn.v_proj.weight"] = n(KV_HEADS * hd, HIDDEN)
        sd[p + "self_attn.o_proj.weight"] = n(HIDDEN, HEADS * hd)
        sd[p + "self_attn.rotary_emb.inv_freq"] = inv_freq.clone()  # transformers 4.31 saved it
        sd[p + "mlp.gate_proj.weight"] = n(INTER, HIDDEN)
        sd[p + "mlp.up_proj.weight"] = n(INTER, HIDDEN)
        sd[p + "mlp.down_proj.weight"] = n(HIDDEN, INTER)
        sd[p + "input_layernorm.weight"] = gain()
        sd[p + "post_attention_layernorm.weight"] = gain()
    sd["model.norm.weight"] = gain()
    sd["lm_head.weight"] = n(VOCAB, HIDDEN)
    return sd


def llama_logits(sd, ids, lora=None, scaling=1.0):
    """LlamaForCausalLM's logits with plain torch ops (RMSNorm, rotate-half RoPE, causal
    softmax attention, SwiGLU); `lora` maps 'layers.N.self_attn.q_proj' -> (A, B) and adds
    scaling * B(A x) to that projection, as peft does."""
    hd = HIDDEN // HEADS
    B, T = ids.shape
    x = sd["model.embed_tokens.weight"][ids]
    inv = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos(), emb.sin()

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * w

    def rot(x):
        a, b = x[..., : hd // 2], x[..., hd // 2:]
        return torch.cat([-b, a], -1)

    def lin(x, i, sub, name):
        key = f"layers.{i}.{sub}.{name}"
        y = x @ sd[f"model.{key}.weight"].t()
        if lora and key in lora:
            A, Bm = lora[key]
            y = y + scaling * ((x @ A.t()) @ Bm.t())
        return y

    mask = torch.full((T, T), float("-inf")).triu(1)
    for i in range(LAYERS):
        h = rms(x, sd[f"model.layers.{i}.input_layernorm.weight"])
        q = lin(h, i, "self_attn", "q_proj").view(B, T, HEADS, hd).transpose(1, 2)
        k = lin(h, i, "self_attn", "k_proj").view(B, T, KV_HEADS, hd).transpose(1, 2)
        v = lin(h, i, "self_attn", "v_proj").view(B, T, KV_HEADS, hd).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        o = (att @ v).transpose(1, 2).reshape(B, T, HEADS * hd)
        x = x + lin(o, i, "self_attn", "o_proj")
        h = rms(x, sd[f"model.layers.{i}.post_attention_layernorm.weight"])
        x = x + lin(torch.nn.functional.silu(lin(h, i, "mlp", "gate_proj")) * lin(h, i, "mlp", "up_proj"),
                    i, "mlp", "down_proj")
    return rms(x, sd["model.norm.weight"]) @ sd["lm_head.weight"].t()


# ---------------------------------------------------------------- safetensors by hand
ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)

    # CLIP: trace in float32 (CPU has no float16 conv), store float16 like OpenAI's file.
    clip = CLIP().eval()
    randomize_(clip)
    pixels = torch.randn(2, 3, RES, RES)
    text = torch.randint(0, TEXT_VOCAB, (2, TEXT_CTX))
    with torch.no_grad():
        module_features = clip.visual.forward_patch_features(pixels)     # before .half() below
        traced = torch.jit.trace(clip, (pixels, text))
    traced = traced.half()  # shares its parameters with `clip`
    torch.jit.save(traced, os.path.join(OUT, "ViT-L-14.pt"))
    sd = {k: v for k, v in torch.jit.load(os.path.join(OUT, "ViT-L-14.pt")).state_dict().items()}
    assert sd["visual.conv1.weight"].dtype == torch.float16
    with torch.no_grad():
        features = clip_patch_features(sd, pixels)                        # [2, 9, 128]
    assert (features - module_features).abs().max() < 1e-4, "two CLIP references disagree"

    # LLaMA: float32 .bin (+ inv_freq buffers) and the same weights as float16 shards.
    llama = llama_state_dict()
    config = {
        "_name_or_path": "vicuna-tiny", "architectures": ["LlamaForCausalLM"], "bos_token_id": 1,
        "eos_token_id": 2, "hidden_act": "silu", "hidden_size": HIDDEN, "initializer_range": 0.02,
        "intermediate_size": INTER, "max_position_embeddings": 64, "model_type": "llama",
        "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "num_key_value_heads": KV_HEADS,
        "pad_token_id": 0, "pretraining_tp": 1, "rms_norm_eps": RMS_EPS, "rope_scaling": None,
        "tie_word_embeddings": False, "torch_dtype": "float16", "transformers_version": "4.31.0",
        "use_cache": True, "vocab_size": VOCAB}
    for d in ("vicuna-tiny", "vicuna-tiny-st"):
        os.makedirs(os.path.join(OUT, d), exist_ok=True)
        with open(os.path.join(OUT, d, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    torch.save(OrderedDict((k, v.clone()) for k, v in llama.items()), os.path.join(OUT, "vicuna-tiny", "pytorch_model.bin"))
    halves = OrderedDict((k, v.half()) for k, v in llama.items() if "inv_freq" not in k)
    names = list(halves)
    cut = names.index("model.layers.1.self_attn.q_proj.weight")
    shards = {"model-00001-of-00002.safetensors": names[:cut], "model-00002-of-00002.safetensors": names[cut:]}
    weight_map = {}
    for shard, keys in shards.items():
        write_safetensors(os.path.join(OUT, "vicuna-tiny-st", shard), {k: halves[k] for k in keys}, {"format": "pt"})
        weight_map.update({k: shard for k in keys})
    total = sum(v.numel() * 2 for v in halves.values())
    with open(os.path.join(OUT, "vicuna-tiny-st", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    # DepictQA delta: LoRA (non-zero B, so it changes the logits) + the linear projector.
    hd = HIDDEN // HEADS
    out_in = {"q_proj": (HEADS * hd, HIDDEN), "k_proj": (KV_HEADS * hd, HIDDEN),
              "v_proj": (KV_HEADS * hd, HIDDEN), "o_proj": (HIDDEN, HEADS * hd)}
    lora, ckpt, ckpt_default = {}, OrderedDict(), OrderedDict()
    for i in range(LAYERS):
        for m, (o, n_in) in out_in.items():
            A = f16able(torch.randn(LORA_R, n_in) * n_in ** -0.5)
            Bm = f16able(torch.randn(o, LORA_R) * 0.3)
            lora[f"layers.{i}.self_attn.{m}"] = (A, Bm)
            base = f"base_model.model.model.layers.{i}.self_attn.{m}"
            ckpt[f"llm.{base}.lora_A.weight"] = A.half()
            ckpt[f"llm.{base}.lora_B.weight"] = Bm.half()
            ckpt_default[f"{base}.lora_A.default.weight"] = A.half()
            ckpt_default[f"{base}.lora_B.default.weight"] = Bm.half()
    proj_w = f16able(torch.randn(HIDDEN, CLIP_WIDTH) * CLIP_WIDTH ** -0.5)
    proj_b = f16able(torch.randn(HIDDEN) * 0.1)
    for c in (ckpt, ckpt_default):
        c["vision_proj.weight"] = proj_w.half()
        c["vision_proj.bias"] = proj_b.half()
    torch.save(ckpt, os.path.join(OUT, "ckpt.pt"))
    torch.save(ckpt_default, os.path.join(OUT, "ckpt_peft_default.pt"))

    ids = torch.tensor([[1, 45, 220, 7, 391, 12, 150, 3, 88, 260]])
    with torch.no_grad():
        base = llama_logits(llama, ids)
        with_lora = llama_logits(llama, ids, lora, 1.0)        # alpha = r (the default)
        alpha2r = llama_logits(llama, ids, lora, 2.0)          # --lora-alpha 8 with r 4
        projected = features @ proj_w.t() + proj_b             # [2, 9, 32]
    assert (with_lora - base).abs().max() > 0.1, "the LoRA must change the logits"
    write_safetensors(os.path.join(OUT, "expected.safetensors"), OrderedDict([
        ("pixel_values", pixels), ("vision_features", features), ("projected", projected),
        ("input_ids", ids), ("logits_base", base), ("logits_lora", with_lora),
        ("logits_lora_alpha8", alpha2r)]), {"lora_rank": str(LORA_R), "clip_heads": str(CLIP_HEADS)})
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {OUT}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
