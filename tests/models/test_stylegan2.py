"""StyleGAN2 generator and its weight files: real tensors, tiny channel counts so the file runs in seconds."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from instrument.errors import ModelError
from instrument.models.ops import (
    demodulation_coefs, fir_weight, modulated_conv2d, setup_filter, upfirdn2d, upsample2d,
)
from instrument.models.stylegan2 import (
    DEFAULT_CONFIG, Generator, GeneratorConfig, make_generator,
)
from instrument.models.weights import load_generator, save_generator


def tiny(res: int = 32, **kw) -> GeneratorConfig:
    args = dict(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=res, channel_base=16 * res, channel_max=16)
    args.update(kw)
    return GeneratorConfig(**args)


@pytest.fixture(scope="module")
def G() -> Generator:
    return make_generator(tiny(32), seed=1)


def z_batch(n: int, dim: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn([n, dim], generator=torch.Generator().manual_seed(seed))


# --- architecture ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("res", [32, 64, 128, 256])
def test_shapes_and_num_ws(res):
    G = make_generator(tiny(res, channel_max=8, channel_base=8 * res), seed=0)
    assert G.num_ws == 2 * int(math.log2(res)) - 2
    assert (G.z_dim, G.w_dim, G.img_resolution, G.img_channels) == (16, 16, res, 3)
    with torch.inference_mode():
        ws = G.mapping(z_batch(2))
        img = G.synthesis(ws)
    assert ws.shape == (2, G.num_ws, 16)
    assert img.shape == (2, 3, res, res) and img.dtype == torch.float32
    assert torch.isfinite(img).all()


def test_orig_architecture_has_one_torgb():
    G = make_generator(tiny(32, architecture="orig"), seed=0)
    names = G.state_dict().keys()
    assert "synthesis.b32.torgb.weight" in names and "synthesis.b16.torgb.weight" not in names
    assert G.num_ws == 8
    with torch.inference_mode():
        assert G(z_batch(1)).shape == (1, 3, 32, 32)


def test_config_validation_and_dict_round_trip():
    cfg = tiny(64, conv_clamp=256.0)
    assert GeneratorConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="'bogus'"):
        GeneratorConfig.from_dict({**cfg.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match=r"'dense' is not supported; use one of \('orig', 'skip', 'resnet'\)"):
        GeneratorConfig(architecture="dense")
    with pytest.raises(ValueError, match="c_dim must be >= 0"):
        GeneratorConfig(c_dim=-1)
    cond = tiny(32, architecture="resnet", c_dim=10, embed_features=8)
    assert GeneratorConfig.from_dict(json.loads(json.dumps(cond.to_dict()))) == cond
    with pytest.raises(ValueError, match="power of two"):
        GeneratorConfig(img_resolution=96)
    assert DEFAULT_CONFIG.img_resolution == 128


def test_nvidia_state_dict_names_and_shapes():
    with torch.device("meta"):  # config F at 1024: shapes only, no memory
        G = Generator(GeneratorConfig(img_resolution=1024))
    sd = {k: tuple(v.shape) for k, v in G.state_dict().items()}
    assert G.num_ws == 18
    expect = {
        "mapping.fc0.weight": (512, 512), "mapping.fc0.bias": (512,), "mapping.fc7.weight": (512, 512),
        "mapping.w_avg": (512,),
        "synthesis.b4.const": (512, 4, 4), "synthesis.b4.resample_filter": (4, 4),
        "synthesis.b4.conv1.weight": (512, 512, 3, 3), "synthesis.b4.conv1.bias": (512,),
        "synthesis.b4.conv1.noise_const": (4, 4), "synthesis.b4.conv1.noise_strength": (),
        "synthesis.b4.conv1.resample_filter": (4, 4),
        "synthesis.b4.conv1.affine.weight": (512, 512), "synthesis.b4.conv1.affine.bias": (512,),
        "synthesis.b4.torgb.weight": (3, 512, 1, 1), "synthesis.b4.torgb.bias": (3,),
        "synthesis.b4.torgb.affine.weight": (512, 512), "synthesis.b4.torgb.affine.bias": (512,),
        "synthesis.b8.conv0.weight": (512, 512, 3, 3), "synthesis.b8.conv0.noise_const": (8, 8),
        "synthesis.b8.conv1.weight": (512, 512, 3, 3), "synthesis.b8.torgb.weight": (3, 512, 1, 1),
        "synthesis.b1024.conv0.weight": (32, 64, 3, 3), "synthesis.b1024.conv0.affine.weight": (64, 512),
        "synthesis.b1024.conv1.noise_const": (1024, 1024), "synthesis.b1024.torgb.weight": (3, 32, 1, 1),
    }
    for name, shape in expect.items():
        assert sd[name] == shape, name
    assert not any("fir" in k for k in sd)  # derived buffers are not saved


def test_init_values_follow_nvidia(G):
    sd = G.state_dict()
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    assert torch.equal(sd["synthesis.b8.conv0.resample_filter"], torch.outer(taps, taps) / 64)
    assert torch.equal(sd["synthesis.b8.conv0.affine.bias"], torch.ones(16))
    assert torch.equal(sd["synthesis.b8.conv0.bias"], torch.zeros(16))
    assert sd["mapping.fc0.weight"].std() > 10  # stored as N(0,1) / lr_mul, scaled back at runtime


def test_seeded_init_is_deterministic():
    a, b, c = (make_generator(tiny(32), seed=s).state_dict() for s in (5, 5, 6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["synthesis.b8.conv0.weight"], c["synthesis.b8.conv0.weight"])
    assert not torch.equal(a["mapping.fc0.weight"], c["mapping.fc0.weight"])


def test_eval_mode_without_grads(G):
    assert not G.training
    assert not any(p.requires_grad for p in G.parameters())


# --- mapping and truncation ------------------------------------------------------------------------------

def test_truncation(G):
    z = z_batch(3)
    with torch.inference_mode():
        ws = G.mapping(z)
        cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=4)
        full = G.mapping(z, truncation_psi=0.0)
        half = G.mapping(z, truncation_psi=0.5)
    w_avg = G.mapping.w_avg
    assert torch.allclose(cut[:, :4], w_avg.expand(3, 4, -1))
    assert torch.equal(cut[:, 4:], ws[:, 4:])
    assert torch.allclose(full, w_avg.expand_as(full))
    assert torch.allclose(half, (ws + w_avg) / 2, atol=1e-6)
    assert torch.equal(ws[:, 0], ws[:, -1])  # one w broadcast to all layers


def test_w_avg_updates_only_with_update_emas():
    G = make_generator(tiny(32), seed=0)
    before = G.mapping.w_avg.clone()
    with torch.no_grad():
        G.mapping(z_batch(8), truncation_psi=0.5)
        assert torch.equal(G.mapping.w_avg, before)
        G.mapping(z_batch(8), update_emas=True)
    assert not torch.equal(G.mapping.w_avg, before)


# --- synthesis ---------------------------------------------------------------------------------------------

def test_noise_modes(G):
    ws = G.mapping(z_batch(2))
    with torch.no_grad():  # noise_strength starts at 0 (NVIDIA init); give noise a visible effect
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.5)
    try:
        with torch.inference_mode():
            const_a, const_b = G.synthesis(ws), G.synthesis(ws, noise_mode="const")
            rand_a = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(7))
            rand_b = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(7))
            rand_c = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(8))
            none, off = G.synthesis(ws, noise_mode="none"), G.synthesis(ws, noise_mode="off")
    finally:
        with torch.no_grad():
            for m in G.modules():
                if hasattr(m, "noise_strength"):
                    m.noise_strength.zero_()
    assert torch.equal(const_a, const_b)
    assert torch.equal(rand_a, rand_b)
    assert not torch.allclose(rand_a, rand_c) and not torch.allclose(rand_a, const_a)
    assert torch.equal(none, off) and not torch.allclose(none, const_a)


def test_bad_noise_mode_raises(G):
    with pytest.raises(ValueError, match=r"'loud'.*const.*random.*none"):
        G.synthesis(G.mapping(z_batch(1)), noise_mode="loud")


def test_bad_ws_shape_raises(G):
    with pytest.raises(ValueError, match="ws must have shape"):
        G.synthesis(torch.zeros(1, 3, 16))


def test_outputs_finite_and_depend_on_z(G):
    with torch.inference_mode():
        img = G(z_batch(4))
    assert torch.isfinite(img).all()
    for i in range(1, 4):
        assert (img[0] - img[i]).abs().mean() > 1e-3


def test_batch_equals_single_samples(G):
    z = z_batch(3)
    with torch.inference_mode():
        batch = G(z, truncation_psi=0.7)
        singles = torch.cat([G(z[i:i + 1], truncation_psi=0.7) for i in range(3)])
    assert torch.allclose(batch, singles, atol=1e-5)


def test_num_fp16_res_is_float32_on_cpu():
    a = make_generator(tiny(32), seed=2)
    b = make_generator(tiny(32, num_fp16_res=2), seed=2)
    z = z_batch(2)
    with torch.inference_mode():
        assert torch.equal(a(z), b(z))


def test_conv_clamp_bounds_activations():
    G = make_generator(tiny(32, conv_clamp=0.05), seed=2)
    with torch.inference_mode():
        img = G(z_batch(2))
    assert torch.isfinite(img).all() and img.abs().max() <= 0.05 * 4 + 1e-5  # 4 skip-summed torgb outputs


def test_trainable_gradients_reach_every_parameter():
    G = Generator(tiny(16))
    G(z_batch(2), noise_mode="random").square().mean().backward()
    for name, p in G.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# --- ops against independent references ------------------------------------------------------------------

def test_upfirdn2d_is_a_true_convolution():
    f = torch.arange(1.0, 17.0).reshape(4, 4)  # asymmetric
    delta = torch.zeros(1, 1, 1, 1)
    delta[..., 0, 0] = 1
    out = upfirdn2d(delta, fir_weight(f, 1), padding=(3, 3, 3, 3))
    assert torch.equal(out[0, 0], f)


def test_upsample2d_matches_zero_insertion_reference():
    f = setup_filter([1, 2, 5, 1])  # asymmetric, so orientation errors show
    x = torch.randn(2, 3, 5, 7)
    ref = upfirdn2d(x, fir_weight(f, 3, gain=4), up=2, padding=(2, 1, 2, 1))
    out = upsample2d(x, fir_weight(f, 3, gain=4, transposed=True))
    assert out.shape == (2, 3, 10, 14)
    assert torch.allclose(out, ref, atol=1e-5)


def _fused_reference(x, weight, styles, up):
    """NVIDIA-style fused path: build per-sample demodulated weights, grouped conv, generic upfirdn2d."""
    b, cin, h, w = x.shape
    cout = weight.shape[0]
    wmod = weight.unsqueeze(0) * styles.reshape(b, 1, cin, 1, 1)  # [b, out, in, 3, 3]
    wmod = wmod * (wmod.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(b, cout, 1, 1, 1)
    xg = x.reshape(1, b * cin, h, w)
    if up == 1:
        y = F.conv2d(xg, wmod.reshape(b * cout, cin, 3, 3), padding=1, groups=b)
        return y.reshape(b, cout, h, w)
    # transposed conv per group: weight [b*in, out, 3, 3]
    wt = wmod.transpose(1, 2).reshape(b * cin, cout, 3, 3)
    y = F.conv_transpose2d(xg, wt, stride=2, groups=b).reshape(b, cout, 2 * h + 1, 2 * w + 1)
    return upfirdn2d(y, fir_weight(setup_filter(), cout, gain=4), padding=(1, 1, 1, 1))


@pytest.mark.parametrize("up", [1, 2])
def test_modulated_conv2d_matches_fused_reference(up):
    g = torch.Generator().manual_seed(3)
    x, weight = torch.randn(2, 6, 5, 5, generator=g), torch.randn(4, 6, 3, 3, generator=g)
    styles = torch.randn(2, 6, generator=g)
    fir = fir_weight(setup_filter(), 4, gain=4) if up == 2 else None
    out = modulated_conv2d(x, weight, styles, up=up, fir_up=fir)
    out = out * demodulation_coefs(weight, styles).reshape(2, 4, 1, 1)
    assert out.shape == (2, 4, 5 * up, 5 * up)
    assert torch.allclose(out, _fused_reference(x, weight, styles, up), atol=1e-5)


def test_loading_a_new_resample_filter_refreshes_derived_weights():
    G = make_generator(tiny(16), seed=0)
    sd = G.state_dict()
    sd["synthesis.b8.conv0.resample_filter"] = setup_filter([1, 1])
    sd["synthesis.b8.resample_filter"] = setup_filter([1, 1])
    with pytest.raises(RuntimeError):  # shape [2, 2] vs [4, 4]: torch refuses before any hook runs
        G.load_state_dict(sd)
    sd = G.state_dict()
    sd["synthesis.b8.conv0.resample_filter"] = torch.full([4, 4], 1 / 16)
    G.load_state_dict(sd)
    assert torch.allclose(G.synthesis.b8.conv0.fir_up, torch.full([16, 1, 4, 4], 4 / 16))


# --- weight files ------------------------------------------------------------------------------------------

def test_save_load_round_trip_is_bit_identical(G, tmp_path):
    path = tmp_path / "g.safetensors"
    save_generator(G, path, metadata={"name": "tiny", "tags": ["a", 1]})
    G2, meta = load_generator(path)
    assert meta == {"name": "tiny", "tags": ["a", 1]}
    assert G2.config == G.config and not G2.training
    z = z_batch(2)
    with torch.inference_mode():
        assert torch.equal(G(z, truncation_psi=0.6), G2(z, truncation_psi=0.6))
        gen = [torch.Generator().manual_seed(1) for _ in range(2)]
        ws = G.mapping(z)
        assert torch.equal(G.synthesis(ws, "random", gen[0]), G2.synthesis(ws, "random", gen[1]))


def test_save_rejects_reserved_metadata(G, tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_generator(G, tmp_path / "g.safetensors", metadata={"config": 1})


def test_load_missing_file(tmp_path):
    with pytest.raises(ModelError, match="nope.safetensors' does not exist"):
        load_generator(tmp_path / "nope.safetensors")


def test_load_corrupt_file(tmp_path):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all, sorry")
    with pytest.raises(ModelError, match="corrupt.safetensors' is not a readable safetensors") as info:
        load_generator(path)
    assert "\n" not in str(info.value)


def _rewrite(src, dst, edit_tensors=None, edit_meta=None):
    from safetensors import safe_open
    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(src))
    if edit_tensors:
        edit_tensors(tensors)
    if edit_meta:
        edit_meta(meta)
    save_file(tensors, str(dst), metadata=meta)


@pytest.mark.parametrize("case, message", [
    ("missing", "is missing tensor 'synthesis.b8.conv0.weight'; was it written by 'instrument convert'"),
    ("unexpected", "has unexpected tensor 'extra.weight'"),
    ("shape", r"has tensor 'mapping.fc0.weight' of shape \[16, 8\], expected \[16, 16\]"),
    ("format", "has format 'other', expected 'instrument.stylegan2'"),
    ("config", "has no valid generator config"),
])
def test_load_bad_contents(G, tmp_path, case, message):
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    save_generator(G, good)
    edits = {
        "missing": dict(edit_tensors=lambda t: t.pop("synthesis.b8.conv0.weight")),
        "unexpected": dict(edit_tensors=lambda t: t.update({"extra.weight": torch.zeros(2)})),
        "shape": dict(edit_tensors=lambda t: t.update({"mapping.fc0.weight": torch.zeros(16, 8)})),
        "format": dict(edit_meta=lambda m: m.update({"format": "other"})),
        "config": dict(edit_meta=lambda m: m.update({"config": '{"z_dim": 16, "warp": 9}'})),
    }
    _rewrite(good, bad, **edits[case])
    with pytest.raises(ModelError, match=r"bad\.safetensors' " + message):
        load_generator(bad)


def test_batch_one_gradients_match_batch_path():
    """Batch 1 folds styles into the weight; its gradients must equal the non-folded batch path's."""
    G = Generator(tiny(32))
    z = z_batch(2)
    G(z[:1]).sum().backward()
    single = {n: p.grad.clone() for n, p in G.named_parameters()}
    G.zero_grad()
    G(torch.cat([z[:1], z[:1]])).sum().backward()  # two identical samples: twice the gradient
    for name, p in G.named_parameters():
        assert torch.allclose(p.grad, 2 * single[name], rtol=1e-3, atol=1e-4), name


def test_loaded_weights_keep_the_fast_layout(G, tmp_path):
    save_generator(G, tmp_path / "g.safetensors")
    G2, _ = load_generator(tmp_path / "g.safetensors")
    assert G2.synthesis.b8.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert G2.synthesis.b8.conv0.weight.transpose(0, 1).is_contiguous(memory_format=torch.channels_last)
    assert not list(tmp_path.glob("*.tmp"))
