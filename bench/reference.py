#!/usr/bin/python3
"""
PyTorch reference for `npm run bench`: the same networks and the same training step as
colorgan (src/models/generator.ts, src/models/unet.ts, src/models/discriminator.ts,
src/train/gan.ts), timed on the CPU.

PyTorch is NCHW, ours NHWC; the layers have the same shapes and FLOPs:
  TF 'same' 4×4 stride-2 conv on an even size  = Conv2d(k=4, s=2, p=1)
  TF 'same' 4×4 stride-2 conv2dTranspose       = ConvTranspose2d(k=4, s=2, p=1)
  TF 'same' 3×3 stride-1 conv                  = Conv2d(k=3, s=1, p=1)
  TF 'same' 3×3 stride-2 conv                  = zero-pad (0 before, 1 after on an even side;
    1 and 1 on an odd one), then Conv2d(k=3, s=2, p=0) (unet's g3: Conv2d(p=1) would give
    the same shape on an even side but shift the sampling grid by one pixel)
  TF 1×1 conv                                  = Conv2d(k=1)
  Keras BN momentum m (moving = m·moving + (1−m)·batch) = PyTorch momentum 1 − m
Convs followed by batch norm have no bias (as ours); the output convs and the first
discriminator conv (no BN) have one.

Training step (as GanStep.step): G step  L_G = BCE(D(y, G(y,z)), 1) + λ·mean|fake − uv|
(+ φ·FM for unet, below), gradients for G's variables only (D's weights are frozen during
it, as tfjs computes no gradient for variables outside the var list); then D step reusing
the detached fake: L_D = ½·[BCE(D(y, uv), 1) + BCE(D(y, fake), 0)]. Adam(lr, β1, 0.999)
for each.
Feature matching (GanStep with featureMatch = φ; the bench uses φ = 10 for unet, as its
training does): the G step also runs D on the real pair and adds φ · mean over D's 4 hidden
LeakyReLU activations k of mean|D_k(y, fake) − D_k(y, uv)| (both D passes in training
mode, so both update D's batch-norm moving statistics, as in ours).

The unet generator (src/models/unet.ts) takes any H×W that is a multiple of 8; the bench
runs it at --size. Its ONNX export is traced at that fixed shape (batch --batch, --size ×
--size), as the other generators' exports are: no dynamic axes.

Usage: /usr/bin/python3 bench/reference.py [--threads N] [--batch 16] [--steps 7]
         [--warmup 2] [--infer-reps 10] [--size 64 --ngf 64 --ndf 64 --zdim 64]
         [--onnx-dir DIR] [--models baseline,advanced,unet] [--feature-match 10]
Prints one JSON object on stdout (diagnostics on stderr).
"""
import argparse
import json
import statistics
import sys
import time
import warnings


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse():
    p = argparse.ArgumentParser()
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--steps', type=int, default=7)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--infer-reps', type=int, default=10)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--ngf', type=int, default=64)
    p.add_argument('--ndf', type=int, default=64)
    p.add_argument('--zdim', type=int, default=64)
    p.add_argument('--bn-momentum', type=float, default=0.9, help='Keras convention')
    p.add_argument('--l1', type=float, default=100.0)
    p.add_argument('--lr', type=float, default=2e-4)
    p.add_argument('--beta1', type=float, default=0.5)
    p.add_argument('--feature-match', type=float, default=10.0,
                   help="φ of unet's feature-matching term (the other generators train without it)")
    p.add_argument('--models', default='baseline,advanced,unet')
    p.add_argument('--onnx-dir', default=None, help='also export each generator (eval mode, batch --batch) as DIR/<arch>.onnx')
    p.add_argument('--serve', action='store_true',
                   help='interleaving mode for bench.ts: read one JSON command a line on stdin, answer one JSON line on stdout')
    return p.parse_args()


def serve(info, setup):
    """Commands (one JSON object a line):
         {"cmd": "info"}                             -> the info object (versions, threads, D params)
         {"cmd": "setup", "arch": A[, "feature_match": φ]}
                                                     -> {"generator_params": n, "feature_match": φ}
                                                        (φ default: --feature-match for unet, 0 otherwise)
         {"cmd": "train", "arch": A, "n": k}         -> {"times": [s, ...]}  (k training steps, each timed)
         {"cmd": "infer", "arch": A, "n": k}         -> {"times": [s, ...]}  (k inference batches)
         {"cmd": "onnx", "arch": A, "path": P}       -> {"onnx": P} or {"onnx_error": msg}
         {"cmd": "quit"}
       Errors come back as {"error": msg}."""
    models = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            cmd = c['cmd']
            if cmd == 'quit':
                break
            if cmd == 'info':
                r = info
            elif cmd == 'setup':
                models[c['arch']] = setup(c['arch'], c.get('feature_match'))
                r = {'generator_params': sum(p.numel() for p in models[c['arch']]['G'].parameters()),
                     'feature_match': models[c['arch']]['feature_match']}
            elif cmd in ('train', 'infer'):
                fn = models[c['arch']]['step' if cmd == 'train' else 'infer']
                ts = []
                for _ in range(int(c.get('n', 1))):
                    t0 = time.perf_counter()
                    fn()
                    ts.append(time.perf_counter() - t0)
                r = {'times': ts}
            elif cmd == 'onnx':
                r = models[c['arch']]['export'](c['path'])
            else:
                r = {'error': f'unknown command {cmd}'}
        except Exception as e:  # noqa: BLE001
            r = {'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(r) + '\n')
        sys.stdout.flush()


def main():
    a = parse()
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    bn_mom = 1.0 - a.bn_momentum

    def block(cin, cout, k, s, p, transpose=False, bn=True, act='relu'):
        conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(cin, cout, k, s, p, bias=not bn)
        layers = [conv]
        if bn:
            layers.append(nn.BatchNorm2d(cout, eps=1e-5, momentum=bn_mom))
        layers.append(nn.ReLU() if act == 'relu' else nn.LeakyReLU(0.2))
        return nn.Sequential(*layers)

    class Generator(nn.Module):
        def __init__(self, arch, S, g, zdim):
            super().__init__()
            self.arch, self.S = arch, S
            self.z_project = nn.Linear(zdim, S * S)
            self.g1 = block(2, g, 4, 2, 1)
            self.g2 = block(g, g * 2, 4, 2, 1)
            self.g3 = block(g * 2, g * 4, 4, 2, 1)
            self.g4 = block(g * 4, g * 4, 3, 1, 1)
            self.g5 = block(g * 4, g * 2, 4, 2, 1, transpose=True)
            self.g6 = block(g * 2, g, 4, 2, 1, transpose=True)
            if arch == 'baseline':
                self.g7_uv = nn.ConvTranspose2d(g, 2, 4, 2, 1, bias=True)
            else:
                f = max(8, g // 2)
                self.g7 = block(g, f, 4, 2, 1, transpose=True)
                self.g8_uv = nn.Conv2d(f + 2, 2, 3, 1, 1, bias=True)

        def forward(self, y, z):
            zmap = self.z_project(z).view(-1, 1, self.S, self.S)
            inp = torch.cat([y, zmap], 1)
            h = self.g6(self.g5(self.g4(self.g3(self.g2(self.g1(inp))))))
            if self.arch == 'baseline':
                return torch.tanh(self.g7_uv(h))
            return torch.tanh(self.g8_uv(torch.cat([self.g7(h), inp], 1)))

    class UnetGenerator(nn.Module):
        """src/models/unet.ts: U-Net encoder/decoder with skips and a global branch (g3 →
        global average pool ⊕ z → dense(ReLU) → dense, added at every position of a 1×1
        conv of e4), output 3×3 conv + tanh on concat(d1_up, e0, y). Same layer order and
        concatenation order as ours (channels of the first input first)."""

        def __init__(self, g, zdim):
            super().__init__()
            assert g % 2 == 0, 'unet needs an even ngf'
            self.e0 = block(1, g // 2, 3, 1, 1)  # S
            self.e1 = block(g // 2, g, 4, 2, 1)  # S/2
            self.e2 = block(g, g * 2, 4, 2, 1)  # S/4
            self.e3 = block(g * 2, g * 4, 4, 2, 1)  # S/8
            self.e4 = block(g * 4, g * 4, 3, 1, 1)  # S/8
            self.g3 = block(g * 4, g * 4, 3, 2, 0)  # S/16, padded by same_pad_3s2
            self.global_fc1 = nn.Linear(g * 4 + zdim, g * 4)
            self.global_fc2 = nn.Linear(g * 4, g * 4)
            self.fuse_local = nn.Conv2d(g * 4, g * 4, 1, 1, 0, bias=True)
            self.d3_up = block(g * 4, g * 2, 4, 2, 1, transpose=True)  # S/4
            self.d3 = block(g * 2 + g * 2, g * 2, 3, 1, 1)
            self.d2_up = block(g * 2, g, 4, 2, 1, transpose=True)  # S/2
            self.d2 = block(g + g, g, 3, 1, 1)
            self.d1_up = block(g, g // 2, 4, 2, 1, transpose=True)  # S
            self.uv = nn.Conv2d(g // 2 + g // 2 + 1, 2, 3, 1, 1, bias=True)

        @staticmethod
        def same_pad_3s2(x):
            """TF 'same' padding of a 3×3 stride-2 conv: total 1 (0 before, 1 after) on an even
            side, 2 (1 and 1) on an odd one. (Python ints: an ONNX trace keeps its shape.)"""
            h, w = int(x.shape[2]), int(x.shape[3])
            return F.pad(x, (w % 2, 1, h % 2, 1))

        def forward(self, y, z):
            if y.shape[2] % 8 or y.shape[3] % 8:
                raise ValueError(f'unet: H, W must be multiples of 8, got {tuple(y.shape[2:])}')
            e0 = self.e0(y)
            e1 = self.e1(e0)
            e2 = self.e2(e1)
            e3 = self.e3(e2)
            e4 = self.e4(e3)
            pooled = torch.mean(self.g3(self.same_pad_3s2(e3)), dim=(2, 3))
            gvec = self.global_fc2(F.relu(self.global_fc1(torch.cat([pooled, z], 1))))
            fused = F.relu(self.fuse_local(e4) + gvec[:, :, None, None])
            h = self.d3(torch.cat([self.d3_up(fused), e2], 1))
            h = self.d2(torch.cat([self.d2_up(h), e1], 1))
            h = self.d1_up(h)
            return torch.tanh(self.uv(torch.cat([h, e0, y], 1)))

    class Discriminator(nn.Module):
        def __init__(self, S, d):
            super().__init__()
            self.d1 = block(3, d, 4, 2, 1, bn=False, act='lrelu')
            self.d2 = block(d, d * 2, 4, 2, 1, act='lrelu')
            self.d3 = block(d * 2, d * 4, 4, 2, 1, act='lrelu')
            self.d4 = block(d * 4, d * 8, 4, 2, 1, act='lrelu')
            self.logit = nn.Linear(d * 8 * (S // 16) ** 2, 1)

        def forward(self, y, uv, features=False):
            """The logit; with features=True (logit, [the 4 hidden LeakyReLU activations])."""
            h1 = self.d1(torch.cat([y, uv], 1))
            h2 = self.d2(h1)
            h3 = self.d3(h2)
            h4 = self.d4(h3)
            logit = self.logit(torch.flatten(h4, 1))
            return (logit, [h1, h2, h3, h4]) if features else logit

    def count(m):
        return sum(p.numel() for p in m.parameters())

    def median_rate(fn, reps, warmup, n):
        for _ in range(warmup):
            fn()
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        med = statistics.median(ts)
        return n / med, med, ts

    S, N = a.size, a.batch
    out = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'mkldnn': bool(torch.backends.mkldnn.is_available()),
        'blas': None,
        'batch': N,
        'size': S,
        'models': {},
    }
    try:  # the BLAS library actually loaded (Debian: openblas-pthread or openblas-openmp alternative)
        with open('/proc/self/maps') as f:
            libs = sorted({l.split()[-1] for l in f if 'blas' in l.lower() and l.split()[-1].startswith('/')})
        out['blas_loaded'] = libs
    except OSError:
        pass
    try:
        cfg = torch.__config__.show()
        out['blas'] = next((l.split('=')[1].strip() for l in cfg.splitlines() if 'BLAS_INFO' in l), None)
    except Exception:  # noqa: BLE001
        pass
    D = Discriminator(S, a.ndf)
    out['discriminator_params'] = count(D)
    bce = nn.BCEWithLogitsLoss()

    def setup(arch, feature_match=None):
        """Models, data and the two timed closures for one architecture."""
        if arch not in ('baseline', 'advanced', 'unet'):
            raise ValueError(f'unknown arch {arch}')
        phi = float(feature_match if feature_match is not None else (a.feature_match if arch == 'unet' else 0.0))
        G = UnetGenerator(a.ngf, a.zdim) if arch == 'unet' else Generator(arch, S, a.ngf, a.zdim)
        D = Discriminator(S, a.ndf)
        y = torch.rand(N, 1, S, S) * 2 - 1
        uv = torch.rand(N, 2, S, S) * 2 - 1
        z = torch.randn(N, a.zdim)
        with torch.no_grad():
            shape = tuple(G(y, z).shape)
        if shape != (N, 2, S, S):
            raise SystemExit(f'{arch}: generator output {shape}, expected {(N, 2, S, S)}')
        gopt = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
        dopt = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(a.beta1, 0.999))
        ones = torch.ones(N, 1)
        zeros = torch.zeros(N, 1)

        def step():
            G.train()
            D.train()
            # G step: gradients for G only.
            for p in D.parameters():
                p.requires_grad_(False)
            gopt.zero_grad(set_to_none=True)
            fake = G(y, z)
            if phi > 0:
                # Feature matching (GanStep.adversarial): D on the fake and on the real pair.
                logit, fake_feats = D(y, fake, features=True)
                _, real_feats = D(y, uv, features=True)
                fm = sum(torch.mean(torch.abs(f - r)) for f, r in zip(fake_feats, real_feats)) / len(fake_feats)
            else:
                logit, fm = D(y, fake), None
            g_adv = bce(logit, ones)
            l1 = torch.mean(torch.abs(fake - uv))
            g_loss = g_adv + a.l1 * l1
            if fm is not None:
                g_loss = g_loss + phi * fm
            g_loss.backward()
            gopt.step()
            for p in D.parameters():
                p.requires_grad_(True)
            # D step, reusing the fake.
            dopt.zero_grad(set_to_none=True)
            fk = fake.detach()
            d_loss = 0.5 * (bce(D(y, uv), ones) + bce(D(y, fk), zeros))
            d_loss.backward()
            dopt.step()
            return float(g_adv), float(l1), float(d_loss)

        def infer():
            G.eval()
            with torch.no_grad():
                return G(y, z).numpy()

        def export(path):
            G.eval()
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    # unet's shape check and 'same' padding read the input shape (TracerWarning):
                    # the trace keeps it fixed (batch --batch, --size × --size), as every export
                    # here is; torch 1.13 also warns about its own export of F.pad (harmless).
                    warnings.simplefilter('ignore')
                    torch.onnx.export(G, (y, z), path, input_names=['y', 'z'], output_names=['uv'], opset_version=13,
                                      do_constant_folding=True)
                return {'onnx': path, 'onnx_export_s': time.perf_counter() - t0}
            except Exception as e:  # noqa: BLE001
                return {'onnx_error': f'{type(e).__name__}: {e}'.splitlines()[0][:300]}

        return {'G': G, 'step': step, 'infer': infer, 'export': export, 'feature_match': phi}

    if a.serve:
        serve(out, setup)
        return

    for arch in a.models.split(','):
        m = setup(arch)
        train_ips, train_med, train_ts = median_rate(m['step'], a.steps, a.warmup, N)
        infer_ips, infer_med, infer_ts = median_rate(m['infer'], a.infer_reps, 2, N)
        entry = {
            'generator_params': count(m['G']),
            'feature_match': m['feature_match'],
            'train_img_s': train_ips,
            'train_step_s': train_med,
            'train_steps_s': train_ts,
            'infer_img_s': infer_ips,
            'infer_batch_s': infer_med,
            'infer_batches_s': infer_ts,
        }
        if a.onnx_dir:
            import os
            entry.update(m['export'](os.path.join(a.onnx_dir, f'{arch}.onnx')))
        out['models'][arch] = entry
        log(f'reference {arch}: train {train_ips:.2f} img/s, infer {infer_ips:.1f} img/s')
    print(json.dumps(out))


if __name__ == '__main__':
    main()
