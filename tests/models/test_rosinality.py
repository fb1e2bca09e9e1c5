"""rosinality checkpoints: renamed both ways, loaded by the weights-only unpickler, images equal to a reference."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

from instrument.errors import ModelError
from instrument.models import rosinality as ro
from instrument.models.convert import convert, describe
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import load_generator
from fixtures import Global, Reduce, rosinality_namespace, write_pickle


@pytest.fixture(scope="module")
def G():
    cfg = GeneratorConfig(z_dim=16, w_dim=16, mapping_layers=3, img_resolution=32, channel_base=256, channel_max=16)
    return make_generator(cfg, seed=3)


def z_batch(n: int = 2) -> torch.Tensor:
    return torch.randn([n, 16], generator=torch.Generator().manual_seed(5))


def save_checkpoint(G, path, latent_avg: bool = True):
    state = ro.from_nvidia(G.state_dict(), G.config)
    ckpt = {"g_ema": {k: v for k, v in state.items() if k != "latent_avg"}, "args": rosinality_namespace(G),
            "g": {}, "d": {"convs.0.0.weight": torch.ones(2)}, "g_optim": {"state": {}, "param_groups": []}}
    if latent_avg:
        ckpt["latent_avg"] = state["latent_avg"]
    torch.save(ckpt, path)
    return path


# --- a rosinality forward pass, written from their model's equations, for the convention check ------------------

def _fir(x, kernel, pad0, pad1, up=1):
    b, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(b, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(b, c, h * up, w * up)
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    return F.conv2d(x, kernel.flip([0, 1]).expand(c, 1, *kernel.shape), groups=c)


def _modconv(sd, p, x, w, demodulate=True, upsample=False):
    weight = sd[f"{p}.conv.weight"]  # [1, out, in, k, k]
    _, out_ch, in_ch, k, _ = weight.shape
    mw = sd[f"{p}.conv.modulation.weight"]
    style = F.linear(w, mw / math.sqrt(mw.shape[1])) + sd[f"{p}.conv.modulation.bias"]  # EqualLinear, lr_mul 1
    wt = weight / math.sqrt(in_ch * k * k) * style.view(-1, 1, in_ch, 1, 1)  # [batch, out, in, k, k]
    if demodulate:
        wt = wt * torch.rsqrt(wt.pow(2).sum([2, 3, 4]) + 1e-8).view(-1, out_ch, 1, 1, 1)
    b = x.shape[0]
    if upsample:
        wt = wt.transpose(1, 2).reshape(b * in_ch, out_ch, k, k)
        y = F.conv_transpose2d(x.reshape(1, -1, *x.shape[2:]), wt, stride=2, groups=b)
        return _fir(y.reshape(b, out_ch, *y.shape[2:]), sd[f"{p}.conv.blur.kernel"], 1, 1)
    y = F.conv2d(x.reshape(1, -1, *x.shape[2:]), wt.reshape(b * out_ch, in_ch, k, k), padding=k // 2, groups=b)
    return y.reshape(b, out_ch, *y.shape[2:])


def _styled(sd, p, noise, x, w, upsample=False):
    x = _modconv(sd, p, x, w, upsample=upsample) + sd[f"{p}.noise.weight"] * sd[f"noises.{noise}"]
    return F.leaky_relu(x + sd[f"{p}.activate.bias"].view(1, -1, 1, 1), 0.2) * math.sqrt(2)


def rosinality_image(sd, z, n_mlp, log_size, lr_mul=0.01, psi=1.0, latent_avg=None):
    w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # PixelNorm
    for i in range(1, n_mlp + 1):
        weight = sd[f"style.{i}.weight"]
        w = F.linear(w, weight * lr_mul / math.sqrt(weight.shape[1]))
        w = F.leaky_relu(w + sd[f"style.{i}.bias"] * lr_mul, 0.2) * math.sqrt(2)  # fused_leaky_relu
    if psi != 1:
        w = latent_avg + psi * (w - latent_avg)
    x = sd["input.input"].repeat(z.shape[0], 1, 1, 1)
    x = _styled(sd, "conv1", "noise_0", x, w)
    skip = _modconv(sd, "to_rgb1", x, w, demodulate=False) + sd["to_rgb1.bias"]
    for k in range(log_size - 2):
        x = _styled(sd, f"convs.{2 * k}", f"noise_{2 * k + 1}", x, w, upsample=True)
        x = _styled(sd, f"convs.{2 * k + 1}", f"noise_{2 * k + 2}", x, w)
        rgb = _modconv(sd, f"to_rgbs.{k}", x, w, demodulate=False) + sd[f"to_rgbs.{k}.bias"]
        skip = rgb + _fir(skip, sd[f"to_rgbs.{k}.upsample.kernel"], 2, 1, up=2)
    return skip


def test_conventions_match_a_rosinality_forward(G):
    sd = ro.from_nvidia(G.state_dict(), G.config)
    with torch.inference_mode():
        ours = G(z_batch(), truncation_psi=0.6)
        theirs = rosinality_image(sd, z_batch(), 3, 5, psi=0.6, latent_avg=sd["latent_avg"])
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)  # differ only by demodulation's epsilon


# --- loading -------------------------------------------------------------------------------------------------------

def test_names_round_trip_exactly(G):
    state = G.state_dict()
    back = ro.to_nvidia(ro.from_nvidia(state, G.config), G.config, "x.pt")
    assert set(back) == set(state) and all(torch.equal(back[k], state[k]) for k in state)


def test_checkpoint_loads_with_identical_images(G, tmp_path):
    G2, meta = ro.load_rosinality(save_checkpoint(G, tmp_path / "550000.pt"), "cpu")
    assert G2.config == G.config and meta["format"] == "rosinality" and meta["args"]["n_mlp"] == 3
    with torch.inference_mode():
        assert torch.equal(G(z_batch(), truncation_psi=0.5), G2(z_batch(), truncation_psi=0.5))


def test_missing_latent_avg_is_estimated(G, tmp_path):
    G2, meta = ro.load_rosinality(save_checkpoint(G, tmp_path / "a.pt", latent_avg=False))
    assert "mean of" in meta["w_avg"] and torch.isfinite(G2.mapping.w_avg).all()
    with torch.inference_mode():
        assert torch.equal(G(z_batch()), G2(z_batch()))  # psi 1 never reads w_avg


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "marker"
    evil = Reduce(Global("os", "system"), (f"touch {marker}",))
    for path in (write_pickle(tmp_path / "legacy.pt", evil), tmp_path / "zip.pt"):
        if path.name == "zip.pt":
            torch.save({"g_ema": {}, "x": _Evil(str(marker))}, path)
        with pytest.raises(ModelError, match="refusing to load") as e:
            ro.load_rosinality(path)
        assert "\n" not in str(e.value)
    assert not marker.exists()


class _Evil:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_bad_state_is_one_line(G, tmp_path):
    path = save_checkpoint(G, tmp_path / "a.pt")
    ckpt = torch.load(path, weights_only=False)
    ckpt["g_ema"]["extra.weight"] = torch.ones(1)
    torch.save(ckpt, path)
    with pytest.raises(ModelError, match="unexpected tensor 'extra.weight'"):
        ro.load_rosinality(path)


def test_convert_and_describe(G, tmp_path):
    pt = save_checkpoint(G, tmp_path / "cats.pt")
    assert "num_ws 8" in describe(pt) and "32x32" in describe(pt)
    convert(pt, tmp_path / "cats.safetensors")
    G2, meta = load_generator(tmp_path / "cats.safetensors")
    assert meta["source_format"] == "rosinality"
    with torch.inference_mode():
        assert torch.equal(G(z_batch(), truncation_psi=0.7), G2(z_batch(), truncation_psi=0.7))


def test_resnet_or_conditional_has_no_rosinality_form():
    for kw in (dict(architecture="resnet"), dict(c_dim=3)):
        G = make_generator(GeneratorConfig(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=16, channel_base=128,
                                           channel_max=16, **kw), seed=0, w_avg_samples=0)
        with pytest.raises(ModelError, match="only unconditional 'skip' generators"):
            ro.from_nvidia(G.state_dict(), G.config)
