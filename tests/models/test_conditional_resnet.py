"""The 'resnet' and 'orig' synthesis architectures and conditional (c_dim > 0) StyleGAN2 generators.

Checked against a straightforward re-implementation of NVIDIA's forward pass written here from the raw state dict
(per-sample modulated weights, grouped convolutions, zero-insertion upsampling), so our modules are never trusted to
check themselves; loaded from NVIDIA-structured pickles and our safetensors with the state dict exactly preserved.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from instrument.errors import ModelError
from instrument.models import nvidia_pickle as nv
from instrument.models.conditioning import class_label, class_position, class_weights
from instrument.models.convert import describe
from instrument.models.ops import fir_weight, upfirdn2d
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import load_generator, save_generator
from fixtures import generator_tree, network_pickle, write_pickle

SQRT2, SQRT_HALF = math.sqrt(2), math.sqrt(0.5)


def tiny(res: int = 16, **kw) -> GeneratorConfig:
    args = dict(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=res, channel_base=8 * res, channel_max=16)
    args.update(kw)
    return GeneratorConfig(**args)


def generator(seed: int = 3, **kw):
    G = make_generator(tiny(**kw), seed=seed, w_avg_samples=64)
    with torch.no_grad():  # NVIDIA starts noise_strength at 0; make the noise path (and its gain) count
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.3)
    return G


def z_batch(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn([n, 16], generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "marker"


# --- an independent reference of NVIDIA's forward pass, from the state dict -------------------------------------

def ref_fc(sd, name, x, lr_mul=1.0, act=False):
    w, b = sd[f"{name}.weight"], sd[f"{name}.bias"]
    y = x @ (w * (lr_mul / math.sqrt(w.shape[1]))).t() + b * lr_mul
    return F.leaky_relu(y, 0.2) * SQRT2 if act else y


def ref_mapping(sd, cfg, z, c=None, psi=1.0, cutoff=None, num_ws=1):
    def norm(v):
        return v * (v.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    x = norm(z)
    if cfg.c_dim:
        x = torch.cat([x, norm(ref_fc(sd, "mapping.embed", c))], dim=1)  # NVIDIA: embed, normalise, concat
    for i in range(cfg.mapping_layers):
        x = ref_fc(sd, f"mapping.fc{i}", x, cfg.mapping_lr_mul, act=True)
    ws = x.unsqueeze(1).repeat(1, num_ws, 1)
    cut = num_ws if cutoff is None else cutoff
    ws[:, :cut] = sd["mapping.w_avg"] + psi * (ws[:, :cut] - sd["mapping.w_avg"])
    return ws


def ref_upsample(x, f, gain=4):  # upfirdn2d(up=2, pad 2/1): zero insertion, then the FIR
    return upfirdn2d(x, fir_weight(f, x.shape[1], gain=gain), up=2, padding=(2, 1, 2, 1))


def ref_layer(sd, name, x, w, up, gain=1.0, clamp=None):
    """Fused modulated conv (per-sample demodulated weights, groups), noise, bias, lrelu * sqrt 2 * gain, clamp."""
    weight, b, cin = sd[f"{name}.weight"], x.shape[0], x.shape[1]
    s = ref_fc(sd, f"{name}.affine", w)
    wm = weight.unsqueeze(0) * s.reshape(b, 1, cin, 1, 1)
    wm = wm * (wm.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    xg = x.reshape(1, b * cin, *x.shape[2:])
    if up == 1:
        y = F.conv2d(xg, wm.reshape(-1, cin, 3, 3), padding=1, groups=b).reshape(b, -1, *x.shape[2:])
    else:  # transposed stride-2 conv, then the FIR (gain 4) trimmed to 2x
        y = F.conv_transpose2d(xg, wm.transpose(1, 2).reshape(b * cin, -1, 3, 3), stride=2, groups=b)
        y = y.reshape(b, -1, *y.shape[2:])
        y = upfirdn2d(y, fir_weight(sd[f"{name}.resample_filter"], y.shape[1], gain=4), padding=(1, 1, 1, 1))
    y = y + sd[f"{name}.noise_const"] * sd[f"{name}.noise_strength"]
    y = F.leaky_relu(y + sd[f"{name}.bias"].reshape(1, -1, 1, 1), 0.2) * (SQRT2 * gain)
    return y if clamp is None else y.clamp(-clamp * gain, clamp * gain)


def ref_torgb(sd, name, x, w, clamp=None):
    s = ref_fc(sd, f"{name}.affine", w) / math.sqrt(x.shape[1])
    y = torch.einsum("oi,bi,bihw->bohw", sd[f"{name}.weight"][:, :, 0, 0], s, x)
    y = y + sd[f"{name}.bias"].reshape(1, -1, 1, 1)
    return y if clamp is None else y.clamp(-clamp, clamp)


def ref_synthesis(sd, cfg, ws):
    """NVIDIA's SynthesisNetwork for 'skip', 'orig' and 'resnet' (the resnet shortcut: 1x1 conv, FIR 2x up, both
    paths times sqrt(1/2)); noise_mode const, float32."""
    x = img = None
    wi, res, clamp = 0, 4, cfg.conv_clamp
    while res <= cfg.img_resolution:
        p, last = f"synthesis.b{res}", res == cfg.img_resolution
        if x is None:
            x = sd[f"{p}.const"].unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = ref_layer(sd, f"{p}.conv1", x, ws[:, wi], 1, clamp=clamp)
            wi += 1
        elif cfg.architecture == "resnet":
            k = sd[f"{p}.skip.weight"]
            shortcut = ref_upsample(F.conv2d(x, k / math.sqrt(k.shape[1])), sd[f"{p}.skip.resample_filter"]) * SQRT_HALF
            x = ref_layer(sd, f"{p}.conv0", x, ws[:, wi], 2, clamp=clamp)
            x = shortcut + ref_layer(sd, f"{p}.conv1", x, ws[:, wi + 1], 1, gain=SQRT_HALF, clamp=clamp)
            wi += 2
        else:
            x = ref_layer(sd, f"{p}.conv0", x, ws[:, wi], 2, clamp=clamp)
            x = ref_layer(sd, f"{p}.conv1", x, ws[:, wi + 1], 1, clamp=clamp)
            wi += 2
        if img is not None:
            img = ref_upsample(img, sd[f"{p}.resample_filter"])
        if last or cfg.architecture == "skip":
            y = ref_torgb(sd, f"{p}.torgb", x, ws[:, wi], clamp)
            img = y if img is None else img + y
        res *= 2
    return img


# --- architectures against the reference ------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(architecture="resnet"), dict(architecture="resnet", conv_clamp=0.4),
                                dict(architecture="orig"), dict(architecture="skip", conv_clamp=0.4)])
def test_synthesis_matches_reference(kw):
    G = generator(**kw)
    ws = G.mapping(z_batch(), truncation_psi=0.8)
    with torch.inference_mode():
        ours, ours_single = G.synthesis(ws), G.synthesis(ws[:1])
    ref = ref_synthesis(G.state_dict(), G.config, ws)
    assert ours.shape == (2, 3, 16, 16) and (ref - ours).abs().max() < 1e-4 * max(1.0, ref.abs().max())
    assert (ours_single - ref[:1]).abs().max() < 1e-4 * max(1.0, ref.abs().max())  # the batch-1 folded path


def test_resnet_state_dict_names_and_num_ws():
    G = generator(architecture="resnet")
    sd = G.state_dict()
    assert sd["synthesis.b8.skip.weight"].shape == (16, 16, 1, 1) and "synthesis.b8.skip.resample_filter" in sd
    assert "synthesis.b4.skip.weight" not in sd and "synthesis.b8.skip.bias" not in sd
    assert [r for r in (4, 8, 16) if f"synthesis.b{r}.torgb.weight" in sd] == [16]
    assert G.num_ws == 6  # like 'orig': two convs per block plus the last torgb


def test_resnet_trains():
    G = make_generator(tiny(architecture="resnet", c_dim=3), seed=0, w_avg_samples=0).requires_grad_(True)
    G(z_batch(), torch.eye(3)[:2], noise_mode="random").square().mean().backward()
    for name, p in G.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


# --- conditional mapping ------------------------------------------------------------------------------------------

def test_conditional_mapping_matches_reference():
    G = generator(c_dim=4)
    z, c = z_batch(3), torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 1], [0, 0.25, 0.75, 0]])
    sd = G.state_dict()
    assert sd["mapping.embed.weight"].shape == (16, 4) and sd["mapping.fc0.weight"].shape == (16, 32)
    with torch.inference_mode():
        for psi, cutoff in ((1.0, None), (0.6, 3)):
            ours = G.mapping(z, c, truncation_psi=psi, truncation_cutoff=cutoff)
            ref = ref_mapping(sd, G.config, z, c, psi, cutoff, G.num_ws)
            assert torch.allclose(ours, ref, atol=1e-5)
        assert not torch.allclose(G.mapping(z, c[:1]), G.mapping(z, c[1:2]))  # the class changes w
        assert torch.equal(G.mapping(z), G.mapping(z, torch.eye(4)[:1]))  # no c: class 0
        assert torch.equal(G.mapping(z, c[:1]), G.mapping(z, c[:1].expand(3, -1)))  # one c for the batch


def test_embed_features_other_than_w_dim():
    G = generator(c_dim=5, embed_features=8)
    assert G.state_dict()["mapping.fc0.weight"].shape == (16, 24)
    z, c = z_batch(), torch.eye(5)[[1, 4]]
    assert torch.allclose(G.mapping(z, c), ref_mapping(G.state_dict(), G.config, z, c, num_ws=G.num_ws), atol=1e-5)


def test_bad_class_vector_is_one_line():
    G = generator(c_dim=4)
    with pytest.raises(ValueError, match=r"c must have shape \[2 or 1, 4\].*got \[2, 3\]"):
        G.mapping(z_batch(), torch.zeros(2, 3))


def test_unconditional_ignores_c_and_has_no_embed():
    G = generator()
    assert G.c_dim == 0 and not any("embed" in k for k in G.state_dict())


# --- pickles and safetensors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(architecture="resnet"), dict(c_dim=4),
                                dict(architecture="resnet", c_dim=10, num_fp16_res=2, conv_clamp=256.0),
                                dict(architecture="orig", c_dim=3, embed_features=8, mapping_layers=4)])
def test_pickle_round_trips_exactly(tmp_path, marker, kw):
    G = generator(**kw)
    path = network_pickle(G, tmp_path / "net.pkl", marker)
    config, state = nv.extract_generator(nv.read_network_pickle(path), path.name)
    assert config == G.config
    ref = G.state_dict()
    assert set(state) == set(ref) and all(torch.equal(state[k], ref[k]) for k in ref)
    G2, _ = nv.load_nvidia_pickle(path)
    c = torch.eye(G.c_dim)[[0, G.c_dim - 1]] if G.c_dim else None
    with torch.inference_mode():
        ws = G2.mapping(z_batch(), c, truncation_psi=0.7)
        img = G2.synthesis(ws)
        assert torch.equal(img, G.synthesis(G.mapping(z_batch(), c, truncation_psi=0.7)))
    ref_ws = ref_mapping(ref, G.config, z_batch(), c, 0.7, None, G.num_ws)
    ref_img = ref_synthesis(ref, G.config, ref_ws)
    assert torch.allclose(ws, ref_ws, atol=1e-5) and (img - ref_img).abs().max() < 1e-4 * max(1, ref_img.abs().max())
    assert not marker.exists()


def test_safetensors_round_trip(tmp_path):
    G = generator(architecture="resnet", c_dim=4, embed_features=8)
    save_generator(G, tmp_path / "g.safetensors")
    G2, _ = load_generator(tmp_path / "g.safetensors")
    assert G2.config == G.config and G2.c_dim == 4
    a, b = G.state_dict(), G2.state_dict()
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    c = torch.tensor([[0.0, 0.5, 0.5, 0.0]])
    with torch.inference_mode():  # within float tolerance: safetensors' tensors may be differently aligned for SIMD
        assert torch.allclose(G(z_batch(1), c, truncation_psi=0.5), G2(z_batch(1), c, truncation_psi=0.5), atol=1e-5)


def _node(reduce_obj, *path):
    for name in path:
        reduce_obj = reduce_obj.args[0]["state"]["_modules"][name]
    return reduce_obj.args[0]["state"]


def test_inconsistent_architecture_is_one_line(tmp_path, marker):
    G = generator(architecture="resnet")
    tree = generator_tree(G, marker)
    _node(tree, "synthesis", "b16")["architecture"] = "skip"
    path = write_pickle(tmp_path / "net.pkl", {"G_ema": tree})
    with pytest.raises(ModelError, match="records architecture 'skip' but its tensors are those of 'resnet'") as e:
        nv.load_nvidia_pickle(path)
    assert "\n" not in str(e.value) and not marker.exists()


def test_inconsistent_c_dim_is_one_line(tmp_path, marker):
    tree = generator_tree(generator(c_dim=4), marker)
    tree.args[0]["state"]["c_dim"] = 5
    with pytest.raises(ModelError, match=r"embed.weight of shape \[16, 4\], expected \[embed_features, c_dim=5\]"):
        nv.load_nvidia_pickle(write_pickle(tmp_path / "net.pkl", {"G_ema": tree}))
    tree = generator_tree(generator(), marker)
    tree.args[0]["state"]["c_dim"] = 3
    with pytest.raises(ModelError, match="records c_dim=3 but has no mapping.embed layer"):
        nv.load_nvidia_pickle(write_pickle(tmp_path / "net2.pkl", {"G_ema": tree}))


def test_describe_names_architecture_and_classes(tmp_path, marker):
    path = network_pickle(generator(architecture="resnet", c_dim=10), tmp_path / "net.pkl", marker)
    text = describe(path)
    assert "architecture resnet" in text
    assert "c_dim 10 (conditional: 10 classes, played with class.position)" in text
    assert "class embedding 10 -> 16" in text
    assert "c_dim 0 (unconditional)" in describe(network_pickle(generator(), tmp_path / "u.pkl", marker))


# --- the playable class position -----------------------------------------------------------------------------------

def test_class_weights_blend_neighbours():
    assert class_weights(0.0, 4).tolist() == [1, 0, 0, 0]
    assert class_weights(1.0, 4).tolist() == [0, 0, 0, 1]
    assert class_weights(class_position(2, 4), 4).tolist() == [0, 0, 1, 0]
    assert torch.allclose(torch.from_numpy(class_weights(0.5, 4)), torch.tensor([0, 0.5, 0.5, 0]))
    assert class_weights(7.0, 3).tolist() == [0, 0, 1] and class_weights(float("nan"), 3).tolist() == [1, 0, 0]
    assert class_weights(0.3, 1).tolist() == [1]
    out = class_weights(0.9, 10)
    assert out.dtype.name == "float32" and abs(out.sum() - 1) < 1e-6 and (out > 0).sum() == 2
    assert class_label(class_position(7, 10), 10) == "class 7" and class_label(0.5, 4) == "class 1→2 (50%)"
    with pytest.raises(ValueError, match="class index must be in 0..3"):
        class_position(4, 4)
