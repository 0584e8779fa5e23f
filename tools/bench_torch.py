#!/usr/bin/python3
"""PyTorch reference for `deno task bench`: the same models and train steps on the same cores.

Run with Debian's interpreter (`/usr/bin/python3`, package `python3-torch`). Prints one JSON
object per line and config: {"config", "median_ms", "min_ms", "max_ms", "q1_ms", "q3_ms",
"times_ms", "params_ip", "params_vr", "torch", "threads"}; a first line {"torch": version}.

Models mirror lib/models (NHWC there, NCHW here; the parameter counts are equal):
- SRResNet: 9x9 head conv + PReLU(C); B x [conv3x3 (no bias), BN, PReLU(C), conv3x3, BN] + skip;
  conv3x3 + BN + head skip; 9x9 tail conv; (tanh + 1) / 2.
- ResNet-18 at a width multiplier: 7x7/2 stem, BN, ReLU, 3x3/2 max pool, basic blocks
  [2, 2, 2, 2], 1x1 projections with BN, global mean, linear.
- U-Net: double conv (conv3x3 no bias, BN, ReLU) x 2 per level, 2x2 max pool, 2x2/2 transposed
  conv with bias, concat with the skip, 1x1 head with bias.

Steps (Adam, lr 1e-4, lambda as given):
- ip: one backward of MSE.
- joint: one backward of L_IP + lambda * L_VR; both optimizers step.
- gradprom: torch.autograd.grad of L_IP over theta (graph retained) and of L_VR over
  theta + phi; cosine of the flattened theta gradients (G_VR = lambda * grad L_VR); gate
  (cos >= 0: G_IP + G_VR, else G_IP); both optimizers step.
"""

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SRResNet(nn.Module):
    def __init__(self, channels, blocks, outer=9, image_channels=3):
        super().__init__()
        c = channels
        self.head = nn.Conv2d(image_channels, c, outer, padding=outer // 2)
        self.head_act = nn.PReLU(c, init=0.25)
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            self.blocks.append(
                nn.Sequential(
                    nn.Conv2d(c, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.PReLU(c, init=0.25),
                    nn.Conv2d(c, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                )
            )
        self.body_out = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.body_bn = nn.BatchNorm2d(c)
        self.tail = nn.Conv2d(c, image_channels, outer, padding=outer // 2)

    def forward(self, x):
        head = self.head_act(self.head(x))
        h = head
        for b in self.blocks:
            h = h + b(h)
        h = head + self.body_bn(self.body_out(h))
        return (torch.tanh(self.tail(h)) + 1) / 2


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        r = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = self.proj(x) if self.proj is not None else x
        return F.relu(r + s)


class ResNet18(nn.Module):
    def __init__(self, classes, width_multiplier, image_channels=3):
        super().__init__()
        widths = [max(1, round(w * width_multiplier)) for w in (64, 128, 256, 512)]
        self.stem = nn.Sequential(
            nn.Conv2d(image_channels, widths[0], 7, 2, 3, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        layers, cin = [], widths[0]
        for s, w in enumerate(widths):
            for b in range(2):
                layers.append(BasicBlock(cin, w, 2 if b == 0 and s > 0 else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(self.layers(self.stem(x)).mean(dim=(2, 3)))


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    )


class UNet(nn.Module):
    def __init__(self, depth, base, classes, image_channels=3):
        super().__init__()
        width = lambda l: base * 2**l  # noqa: E731
        self.enc = nn.ModuleList()
        cin = image_channels
        for l in range(depth):
            self.enc.append(double_conv(cin, width(l)))
            cin = width(l)
        self.bottleneck = double_conv(cin, width(depth))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for l in range(depth - 1, -1, -1):
            self.up.append(nn.ConvTranspose2d(width(l + 1), width(l), 2, 2))
            self.dec.append(double_conv(2 * width(l), width(l)))
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips, h = [], x
        for e in self.enc:
            h = e(h)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottleneck(h)
        for up, dec in zip(self.up, self.dec):
            h = dec(torch.cat([up(h), skips.pop()], 1))
        return self.head(h)


def seg_loss(logits, masks):
    """Cross-entropy + soft Dice, as lib/train/losses.ts segmentationLoss."""
    k = logits.shape[1]
    one_hot = F.one_hot(masks, k).permute(0, 3, 1, 2).float()
    ce = F.cross_entropy(logits, masks)
    p = torch.softmax(logits, 1)
    inter = (p * one_hot).sum(dim=(0, 2, 3))
    denom = p.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3))
    return ce + 1 - ((2 * inter + 1) / (denom + 1)).mean()


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def parse_config(name):
    """`sr32x4-ip`, `sr32x4+resnet18w0.25-joint`, `sr32x4+unetd3b16-gradprom`."""
    models, step = name.rsplit("-", 1)
    parts = models.split("+")
    c, b = parts[0][2:].split("x")
    vr = parts[1] if len(parts) > 1 else None
    return int(c), int(b), vr, step


def build_vr(vr, seg_classes, cls_classes):
    if vr is None:
        return None
    if vr.startswith("resnet18w"):
        return ResNet18(cls_classes, float(vr[len("resnet18w"):]))
    if vr.startswith("unetd"):
        d, b = vr[len("unetd"):].split("b")
        return UNet(int(d), int(b), seg_classes)
    raise ValueError(f"Expected a VR model resnet18w<m> or unetd<d>b<b> but found {vr!r}")


def bench_config(name, args):
    torch.manual_seed(0)
    c, b, vr_name, step = parse_config(name)
    ip = SRResNet(c, b)
    vr = build_vr(vr_name, args.seg_classes, args.classes)
    n, s = args.batch, args.size
    x = torch.rand(n, 3, s, s).contiguous(memory_format=torch.channels_last)
    y = torch.rand(n, 3, s, s).contiguous(memory_format=torch.channels_last)
    if vr is not None and vr_name.startswith("unet"):
        labels = torch.randint(0, args.seg_classes, (n, s, s))
        vr_loss = seg_loss
    else:
        labels = torch.randint(0, args.classes, (n,))
        vr_loss = F.cross_entropy
    if args.channels_last:
        ip = ip.to(memory_format=torch.channels_last)
        if vr is not None:
            vr = vr.to(memory_format=torch.channels_last)
    opt_ip = torch.optim.Adam(ip.parameters(), lr=1e-4)
    opt_vr = torch.optim.Adam(vr.parameters(), lr=1e-4) if vr is not None else None
    theta = list(ip.parameters())
    phi = list(vr.parameters()) if vr is not None else []
    lam = args.lam

    def one_step():
        opt_ip.zero_grad(set_to_none=True)
        if opt_vr is not None:
            opt_vr.zero_grad(set_to_none=True)
        out = ip(x)
        l_ip = F.mse_loss(out, y)
        if step == "ip":
            l_ip.backward()
            opt_ip.step()
            return
        l_vr = vr_loss(vr(out), labels)
        if step == "joint":
            (l_ip + lam * l_vr).backward()
        elif step == "gradprom":
            g_ip = torch.autograd.grad(l_ip, theta, retain_graph=True)
            g_all = torch.autograd.grad(l_vr, theta + phi)
            g_vr = [lam * g for g in g_all[: len(theta)]]
            a = torch.cat([g.reshape(-1) for g in g_ip])
            v = torch.cat([g.reshape(-1) for g in g_vr])
            denom = a.norm() * v.norm()
            cos = float(a @ v / denom) if float(denom) > 0 else 0.0
            w = 1.0 if cos >= 0 else 0.0
            for p, gi, gv in zip(theta, g_ip, g_vr):
                p.grad = gi + w * gv
            for p, g in zip(phi, g_all[len(theta):]):
                p.grad = g
        else:
            raise ValueError(f"Expected step ip, joint or gradprom but found {step!r}")
        opt_ip.step()
        opt_vr.step()

    for _ in range(args.warmup):
        one_step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        one_step()
        times.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
    return {
        "config": name,
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "q1_ms": q[0],
        "q3_ms": q[2],
        "times_ms": times,
        "params_ip": n_params(ip),
        "params_vr": n_params(vr) if vr is not None else 0,
        "threads": torch.get_num_threads(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", required=True, help="comma-separated config names")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--seg-classes", type=int, default=4)
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels-last", action="store_true", default=True)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for name in args.configs.split(","):
        r = bench_config(name, args)
        if not all(math.isfinite(t) for t in r["times_ms"]):
            raise RuntimeError(f"Expected finite times for {name} but found {r['times_ms']}")
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
