#!/usr/bin/python3
"""Seeds for the fuzz_pickle libFuzzer target (fuzz/fuzz_pickle.cpp): the data.pkl
records of small torch.save archives, and hand-made hostile pickles.

Run once with Debian's PyTorch (apt-get install python3-torch; torch 1.13):

    /usr/bin/python3 scripts/make_pickle_seeds.py          # -> fuzz/seeds/fuzz_pickle/

The real ones cover what the reader must accept: an OrderedDict state dict (protocol 2,
torch.save's default, and protocols 4 and 5 with FRAME/MEMOIZE/STACK_GLOBAL), every
storage type, a view with an offset and strides into a shared storage, nn.Parameter
(_rebuild_parameter), a module's state dict with its _metadata (BUILD), a training
checkpoint {"state_dict": ..., "epoch": ...}, nested dictionaries and the delta
checkpoint fixture tests/data/convert/ckpt.pt. The hostile ones are those of
tests/model/test_convert.cpp (a deep list, a list that holds itself, os.system) plus
lengths far past the end, an over-wide LONG1 and a storage of impossible size. The
regression-* ones reproduce findings (fuzz_pickle's and a review's).
"""
import io
import os
import struct
import sys
import zipfile
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "seeds", "fuzz_pickle")
torch.manual_seed(7)


def data_pkl(obj, protocol=2):
    """torch.save(obj) into memory; returns its data.pkl record."""
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    return data_pkl_of(buf.getvalue())


def data_pkl_of(archive):
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        (name,) = [n for n in z.namelist() if n.endswith("/data.pkl")]
        return z.read(name)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def real_seeds():
    small = OrderedDict(w=torch.randn(3, 4), b=torch.zeros(4))
    write("real-ordereddict-p2.pkl", data_pkl(small))
    write("real-ordereddict-p4.pkl", data_pkl(small, protocol=4))
    write("real-ordereddict-p5.pkl", data_pkl(small, protocol=5))
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64,
              torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool]
    write("real-every-dtype.pkl", data_pkl({str(d): torch.ones(2, dtype=d) for d in dtypes}))
    base = torch.arange(24.0).reshape(4, 6)
    views = {"base": base, "column": base[:, 2], "block": base[1:3, 2:5], "t": base.t(), "empty": base[:0]}
    write("real-views.pkl", data_pkl(views))
    write("real-parameter.pkl", data_pkl({"p": nn.Parameter(torch.ones(2, 2)), "scalar": torch.tensor(3.0)}))
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    write("real-module-state-dict.pkl", data_pkl(model.state_dict()))
    write("real-training-checkpoint.pkl",
          data_pkl({"state_dict": model.state_dict(), "epoch": 3, "lr": 1e-4, "name": "run-1", "best": None,
                    "flags": [True, False], "shape": (2, 3), "step": 2 ** 40}, protocol=4))
    write("real-nested.pkl", data_pkl({"model": {"enc": {"w": torch.ones(2)}, "dec": {"w": torch.zeros(1)}}}))
    with open(os.path.join(ROOT, "tests", "data", "convert", "ckpt.pt"), "rb") as f:
        write("real-depictqa-ckpt.pkl", data_pkl_of(f.read()))


def hostile_seeds():
    p2 = b"\x80\x02"
    depth = 1000  # test_convert nests a million deep; a small seed keeps the fuzzer fast
    write("hostile-deep-list.pkl", p2 + b"(" * depth + b"]" + b"l" * depth + b".")
    write("hostile-cycle.pkl", p2 + b"]q\x00h\x00a.")
    write("hostile-os-system.pkl", p2 + b"cos\nsystem\nX\x02\x00\x00\x00id\x85R.")
    write("hostile-stack-global.pkl", b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.")
    write("hostile-huge-binunicode8.pkl", p2 + b"\x8d" + struct.pack("<Q", 2 ** 63 + 5) + b"abc.")
    write("hostile-huge-binunicode.pkl", p2 + b"X\xff\xff\xff\xffabc.")
    write("hostile-wide-long1.pkl", p2 + b"\x8a\x09" + b"\xff" * 9 + b".")
    write("hostile-unknown-memo.pkl", p2 + b"j\xff\xff\xff\x7f.")
    storage = (b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
               b"\x8a\x08" + struct.pack("<q", 2 ** 62) + b"tQ")
    write("hostile-huge-storage.pkl", p2 + b"}X\x01\x00\x00\x00w" + storage + b"s.")
    rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n"
    outside = (p2 + b"}X\x01\x00\x00\x00w" + rebuild + b"(" + storage.replace(struct.pack("<q", 2 ** 62),
               struct.pack("<q", 4)) + b"K\x00K\x05\x85K\x01\x85\x89}tRs.")
    write("hostile-view-outside.pkl", outside)


def regression_seeds():
    """Findings, fixed; tests/unit/test_io_torch_pickle.cpp checks them too."""
    # Found by review: a dictionary holding itself under 8 keys; flattening made 8^8 names
    # (more than 7 GB and 100 s before it was stopped).
    keys = b"".join(b"U\x01" + bytes([ord("a") + i]) + b"h\x00" for i in range(8))
    write("regression-dict-holds-itself.pkl", b"\x80\x02}q\x00(" + keys + b"u.")
    # fuzz_pickle's timeout-9bcf14db... (OrderedDict(pairs) called 1000 times on one list of
    # 4200 pairs, 4.2 M copies: 14 s under ASan) is kept as it was found, not made here:
    # regression-timeout-ordereddict-copies.pkl.


def main():
    os.makedirs(OUT, exist_ok=True)
    real_seeds()
    hostile_seeds()
    regression_seeds()


if __name__ == "__main__":
    main()
