"""StyleGAN3 (T and R): design, filters, shapes, determinism, input transform, NVIDIA pickles, safetensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instrument.errors import ModelError
from instrument.models import nvidia_pickle as nv
from instrument.models import sg3_pickle
from instrument.models.convert import describe
from instrument.models.sg3_ops import (
    apply_separable, downsample_fir, lrelu_clamp, bessel_j1, design_lowpass_filter, filtered_lrelu, filtered_lrelu_reference, modulated_conv2d,
)
from instrument.models.stylegan3 import StyleGAN3Generator, layer_specs, make_stylegan3, stylegan3_config
from fixtures import EasyDict, persistent, write_pickle


def tiny(kind: str = "t", res: int = 16, **kw):
    args = dict(z_dim=16, w_dim=16, img_resolution=res, channel_base=256, channel_max=8, num_layers=6,
                num_critical=2, margin_size=4)
    args.update(kw)
    return stylegan3_config(kind, **args)


@pytest.fixture(scope="module", params=["t", "r"])
def G(request):
    return make_stylegan3(tiny(request.param), seed=1, w_avg_samples=64)


def z_batch(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn([n, 16], generator=torch.Generator().manual_seed(seed))


# --- design and filters --------------------------------------------------------------------------------------------

def test_default_design_layer_names():
    names = [s.name for s in layer_specs(stylegan3_config("t", img_resolution=256))]
    assert names[:4] == ["L0_36_512", "L1_36_512", "L2_36_512", "L3_52_512"]
    assert names[-6:] == ["L9_148_362", "L10_276_256", "L11_276_181", "L12_276_128", "L13_256_128", "L14_256_3"]
    r_names = [s.name for s in layer_specs(stylegan3_config("r", img_resolution=1024))]
    assert r_names[0] == "L0_36_1024" and r_names[-1] == "L14_1024_3" and len(r_names) == 15


def test_bessel_j1_known_values():
    np.testing.assert_allclose(bessel_j1(np.array([0.0, 1.0, 5.0, 10.0])),
                               [0.0, 0.44005058574493355, -0.3275791375914652, 0.04347274616886144], atol=1e-14)


@pytest.mark.parametrize("radial", [False, True])
def test_lowpass_filter_response(radial):
    fs, cutoff, numtaps = 64.0, 8.0, 12
    f = design_lowpass_filter(numtaps, cutoff, width=16.0, fs=fs, radial=radial).double()
    assert f.shape == ((numtaps, numtaps) if radial else (numtaps,))
    assert abs(f.sum().item() - 1) < 1e-6 and torch.allclose(f, f.flip(0))
    taps = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    one_d = f.numpy() if not radial else f.numpy().sum(axis=0)  # radial: the response along the x axis
    response = lambda hz: abs(np.sum(one_d * np.exp(-2j * np.pi * hz * taps)))  # noqa: E731
    assert response(0) == pytest.approx(1, abs=1e-6)
    assert 0.3 < response(cutoff) < 0.75  # about half amplitude at the cutoff
    assert response(fs / 2 - 2) < 0.02  # stopband


def test_identity_filter_is_none():
    assert design_lowpass_filter(1, 8.0, 4.0, 64.0) is None


def test_filtered_lrelu_matches_zero_insertion_reference(G):
    for name in G.synthesis.layer_names:
        L = getattr(G.synthesis, name)
        k = L.in_size + L.conv_kernel - 1
        x = torch.randn([2, L.out_channels, k, k], generator=torch.Generator().manual_seed(3))
        b = torch.randn([L.out_channels])
        gain, slope = (1.0, 1.0) if L.is_torgb else (2 ** 0.5, 0.2)
        ref = filtered_lrelu_reference(x, b, L.up_filter, L.down_filter, L.up_factor, L.down_factor, L.padding,
                                       gain, slope, 256.0)
        fast = filtered_lrelu(x + b.reshape(1, -1, 1, 1), L._kernels("fir_up"), L._kernels("fir_down"),
                              L.up_factor, L.down_factor, L.padding, gain, slope, 256.0)
        assert ref.shape[-1] == L.out_size and torch.allclose(ref, fast, atol=1e-5), name
        if not L.is_torgb:  # the layer's own path (filter matrices where separable)
            up = apply_separable(x + b.reshape(1, -1, 1, 1), L.up_matrix) if L.up_matrix is not None else None
            if up is not None:
                mid = lrelu_clamp(up, gain, slope, 256.0)
                out = apply_separable(mid, L.down_matrix) if L.down_matrix is not None else \
                    downsample_fir(mid, L._kernels("fir_down"), L.down_factor)
                assert torch.allclose(ref, out, atol=1e-5), name


def test_modulated_conv_batch_equals_single():
    x, w, s = torch.randn([3, 4, 6, 6]), torch.randn([5, 4, 3, 3]), torch.randn([3, 4])
    whole = modulated_conv2d(x, w, s, torch.tensor(0.5), torch.randn(5))
    assert whole.shape == (3, 5, 8, 8)
    torch.manual_seed(0)
    bias = torch.randn(5)
    whole = modulated_conv2d(x, w, s, torch.tensor(0.5), bias)
    parts = torch.cat([modulated_conv2d(x[i:i + 1], w, s[i:i + 1], torch.tensor(0.5), bias) for i in range(3)])
    assert torch.allclose(whole, parts, atol=1e-5)


# --- the generator ---------------------------------------------------------------------------------------------------

def test_shapes_and_num_ws(G):
    assert G.num_ws == G.config.num_layers + 2 == G.mapping.num_ws
    ws = G.mapping(z_batch(), truncation_psi=0.7)
    assert ws.shape == (2, G.num_ws, 16)
    with torch.inference_mode():
        img = G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator())
    assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32 and torch.isfinite(img).all()
    assert img.std() > 1e-4


def test_deterministic_and_batch_independent(G):
    with torch.inference_mode():
        a, b = G(z_batch(), truncation_psi=0.5), G(z_batch(), truncation_psi=0.5)
        single = G(z_batch()[1:], truncation_psi=0.5)
    assert torch.equal(a, b)
    assert torch.allclose(a[1:], single, atol=1e-5)
    G2 = make_stylegan3(G.config, seed=1, w_avg_samples=64)
    with torch.inference_mode():
        assert torch.equal(G2(z_batch(), truncation_psi=0.5), a)


def test_wrong_ws_shape_is_refused(G):
    with pytest.raises(ValueError, match="ws must have shape"):
        G.synthesis(torch.zeros([1, G.num_ws - 1, 16]))


def test_input_translation_shifts_content():
    G = make_stylegan3(tiny("t", res=32, channel_base=1024, channel_max=16), seed=4, w_avg_samples=64)
    z, shift = z_batch(1), 3
    with torch.inference_mode():
        base = G(z)
        G.set_input_transform((shift / 32, 0.0))
        moved = G(z)
        G.set_input_transform((0.0, 0.0))
        assert torch.equal(G(z), base)
    inner = slice(6, 26)
    err_shifted = (moved[..., inner, shift:][..., inner.start:inner.stop - shift] -
                   base[..., inner, :-shift][..., inner.start:inner.stop - shift]).abs().mean()
    err_unshifted = (moved - base)[..., inner, inner].abs().mean()
    assert err_shifted < 0.35 * err_unshifted  # content moved right by `shift` pixels


def test_rotation_changes_output():
    G = make_stylegan3(tiny("r"), seed=5, w_avg_samples=16)
    with torch.inference_mode():
        base = G(z_batch(1))
        G.set_input_transform((0.0, 0.0), rotate_deg=30)
        turned = G(z_batch(1))
    assert not torch.allclose(base, turned)
    assert torch.allclose(G.synthesis.input.transform[:2, :2].det(), torch.tensor(1.0))


# --- NVIDIA pickles ------------------------------------------------------------------------------------------------

def _node(module, marker, class_name, attrs, init_kwargs=None, children=None):
    params = dict(module.named_parameters(recurse=False))
    buffers = {k: v for k, v in module.named_buffers(recurse=False) if k in module.state_dict(keep_vars=True)}
    return persistent(class_name, marker, params, buffers, children or {}, attrs, init_kwargs)


def _fc(fc, marker, lr_mul: float = 1.0):
    in_features = fc.weight.shape[1]
    return _node(fc, marker, "FullyConnectedLayer", {"activation": fc.activation, "in_features": in_features,
                                                      "out_features": fc.weight.shape[0],
                                                      "weight_gain": lr_mul / np.sqrt(in_features), "bias_gain": lr_mul})


def _layer(L, marker):
    attrs = {name: getattr(L, name) for name in (
        "w_dim", "is_torgb", "is_critically_sampled", "use_fp16", "in_channels", "out_channels", "in_sampling_rate",
        "out_sampling_rate", "in_cutoff", "out_cutoff", "in_half_width", "out_half_width", "conv_kernel",
        "conv_clamp", "magnitude_ema_beta", "tmp_sampling_rate", "up_factor", "up_taps", "down_factor",
        "down_taps", "down_radial", "padding")}
    for name in ("in_size", "out_size", "in_cutoff"):  # NVIDIA keeps sizes as numpy [2] arrays, rates as numpy floats
        attrs[name] = np.broadcast_to(np.asarray(getattr(L, name)), [2]).copy() if "size" in name else np.float64(L.in_cutoff)
    return _node(L, marker, "SynthesisLayer", attrs, children={"affine": _fc(L.affine, marker)})


def sg3_network_pickle(G: StyleGAN3Generator, path, marker):
    """A stylegan3 network-snapshot pickle of G, shaped like NVIDIA's persistence writes it."""
    cfg, syn = G.config, G.synthesis
    kwargs = EasyDict(channel_base=cfg.channel_base, channel_max=cfg.channel_max, magnitude_ema_beta=cfg.magnitude_ema_beta,
                      num_layers=cfg.num_layers, num_critical=cfg.num_critical, margin_size=cfg.margin_size,
                      num_fp16_res=cfg.num_fp16_res, conv_clamp=cfg.conv_clamp)
    if cfg.use_radial_filters:
        kwargs.update(conv_kernel=1, use_radial_filters=True)
    inp = syn.input
    children = {"input": _node(inp, marker, "SynthesisInput", {
        "w_dim": cfg.w_dim, "channels": inp.channels, "size": np.broadcast_to(np.asarray(inp.size), [2]).copy(),
        "sampling_rate": np.float64(inp.sampling_rate), "bandwidth": np.float64(inp.bandwidth)},
        children={"affine": _fc(inp.affine, marker)})}
    children.update({name: _layer(getattr(syn, name), marker) for name in syn.layer_names})
    synthesis = _node(syn, marker, "SynthesisNetwork", {
        "w_dim": cfg.w_dim, "num_ws": G.num_ws, "img_resolution": cfg.img_resolution, "img_channels": 3,
        "num_layers": cfg.num_layers, "num_critical": cfg.num_critical, "margin_size": cfg.margin_size,
        "output_scale": cfg.output_scale, "num_fp16_res": cfg.num_fp16_res, "layer_names": syn.layer_names},
        EasyDict(w_dim=cfg.w_dim, img_resolution=cfg.img_resolution, img_channels=3, **kwargs), children)
    fcs = {"embed": _fc(G.mapping.embed, marker)} if cfg.c_dim else {}
    fcs.update({name: _fc(getattr(G.mapping, name), marker, cfg.mapping_lr_mul) for name in G.mapping.layer_names})
    mapping = _node(G.mapping, marker, "MappingNetwork", {
        "z_dim": cfg.z_dim, "c_dim": cfg.c_dim, "w_dim": cfg.w_dim, "num_ws": G.num_ws, "num_layers": cfg.mapping_layers,
        "w_avg_beta": cfg.w_avg_beta}, EasyDict(num_layers=cfg.mapping_layers), fcs)
    tree = persistent("Generator", marker, {}, {}, {"synthesis": synthesis, "mapping": mapping}, {
        "z_dim": cfg.z_dim, "c_dim": cfg.c_dim, "w_dim": cfg.w_dim, "img_resolution": np.int64(cfg.img_resolution),
        "img_channels": 3, "num_ws": G.num_ws},
        EasyDict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.img_resolution, img_channels=3,
                 mapping_kwargs=EasyDict(num_layers=cfg.mapping_layers), **kwargs))
    return write_pickle(path, {"G": tree, "D": None, "G_ema": tree, "augment_pipe": None})


@pytest.mark.parametrize("kind", ["t", "r"])
def test_pickle_loads_exact_state_and_images(tmp_path, kind):
    marker = tmp_path / "marker"
    G = make_stylegan3(tiny(kind, conv_clamp=None if kind == "r" else 256.0), seed=2, w_avg_samples=32)
    with torch.no_grad():  # trained-looking magnitudes, so the input gain is exercised
        for name in G.synthesis.layer_names:
            getattr(G.synthesis, name).magnitude_ema.fill_(0.8)
    G.set_input_transform((0.05, -0.02), rotate_deg=10)
    path = sg3_network_pickle(G, tmp_path / "net.pkl", marker)
    config, state = sg3_pickle.extract_sg3(nv.read_network_pickle(path), path.name)
    assert config == G.config
    ref = G.state_dict()
    assert set(state) == set(ref) and all(torch.equal(state[k], ref[k]) for k in ref)
    G2 = sg3_pickle.sg3_from_state(config, state, path.name)
    with torch.inference_mode():
        assert torch.equal(G(z_batch(), truncation_psi=0.7), G2(z_batch(), truncation_psi=0.7))
    assert not marker.exists()


def test_conditional_pickle_loads_exact_state_and_images(tmp_path):
    marker = tmp_path / "marker"
    G = make_stylegan3(tiny("t", c_dim=5), seed=4, w_avg_samples=32)
    path = sg3_network_pickle(G, tmp_path / "net.pkl", marker)
    config, state = sg3_pickle.extract_sg3(nv.read_network_pickle(path), path.name)
    assert config == G.config and config.c_dim == 5 and state["mapping.embed.weight"].shape == (G.w_dim, 5)
    ref = G.state_dict()
    assert set(state) == set(ref) and all(torch.equal(state[k], ref[k]) for k in ref)
    G2 = sg3_pickle.sg3_from_state(config, state, path.name)
    c = torch.eye(5)[[1, 3]]
    with torch.inference_mode():
        assert torch.equal(G(z_batch(), c, truncation_psi=0.7), G2(z_batch(), c, truncation_psi=0.7))
        assert not torch.allclose(G2(z_batch(), c), G2(z_batch(), torch.eye(5)[[0, 4]]))
    assert "c_dim 5 (conditional: 5 classes" in describe(path)
    assert not marker.exists()


def test_pickle_with_other_design_is_refused(tmp_path):
    G = make_stylegan3(tiny("t"), seed=2, w_avg_samples=8)
    path = sg3_network_pickle(G, tmp_path / "net.pkl", tmp_path / "marker")
    tree = nv.read_network_pickle(path)
    tree["G_ema"].child("synthesis").state["_init_kwargs"]["first_cutoff"] = 3.0
    with pytest.raises(ModelError, match="in_cutoff"):
        sg3_pickle.extract_sg3(tree, path.name)


def test_stylegan2_tree_is_not_stylegan3():
    assert not sg3_pickle.is_stylegan3({"synthesis.b4.conv1.weight": torch.zeros(1)})
    assert sg3_pickle.is_stylegan3({"synthesis.L0_36_512.weight": torch.zeros(1)})


# --- safetensors -----------------------------------------------------------------------------------------------------

def test_safetensors_round_trip(G, tmp_path):
    path = tmp_path / "g.safetensors"
    sg3_pickle.save_stylegan3(G, path, {"name": "tiny"})
    G2, meta = sg3_pickle.load_stylegan3(path)
    assert meta == {"name": "tiny"} and G2.config == G.config
    with torch.inference_mode():
        assert torch.equal(G(z_batch()), G2(z_batch()))


def test_safetensors_of_stylegan2_format_is_refused(tmp_path):
    from instrument.models.stylegan2 import GeneratorConfig, make_generator
    from instrument.models.weights import save_generator
    path = tmp_path / "sg2.safetensors"
    save_generator(make_generator(GeneratorConfig(z_dim=8, w_dim=8, img_resolution=8, channel_base=64,
                                                  channel_max=8, mapping_layers=1), seed=0, w_avg_samples=0), path)
    with pytest.raises(ModelError, match="instrument.stylegan3"):
        sg3_pickle.load_stylegan3(path)
