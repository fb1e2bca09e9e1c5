"""NVIDIA network pickles: read as data (never run), loaded bit-for-bit; malicious pickles refused; convert."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from instrument.errors import ModelError
from instrument.models import nvidia_pickle as nv
from instrument.models.convert import convert, describe, main_convert, main_models
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.weights import load_generator
from fixtures import (
    LOAD_FROM_BYTES, REBUILD_TENSOR, Global, Reduce, legacy_storage_bytes, legacy_stream, network_pickle, write_pickle,
)


def tiny(res: int = 32, **kw) -> GeneratorConfig:
    args = dict(z_dim=16, w_dim=16, mapping_layers=2, img_resolution=res, channel_base=16 * res, channel_max=16)
    args.update(kw)
    return GeneratorConfig(**args)


@pytest.fixture(scope="module")
def G():
    return make_generator(tiny(32, channel_base=256), seed=1)  # 16 channels up to 16x16, 8 at 32x32


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "marker"


def z_batch(n: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn([n, 16], generator=torch.Generator().manual_seed(seed))


# --- honest pickles --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_pickle_loads_exact_state_and_images(G, tmp_path, marker, protocol):
    path = network_pickle(G, tmp_path / "net.pkl", marker, protocol)
    config, state = nv.extract_generator(nv.read_network_pickle(path))
    assert config == G.config
    ref = G.state_dict()
    assert set(state) == set(ref) and all(torch.equal(state[k], ref[k]) for k in ref)
    G2, meta = nv.load_nvidia_pickle(path, "cpu")
    with torch.inference_mode():
        assert torch.equal(G(z_batch(), truncation_psi=0.7), G2(z_batch(), truncation_psi=0.7))
    assert meta["networks"]["G_ema"] == "Generator"
    assert not marker.exists()


def test_tree_is_plain_data(G, tmp_path, marker):
    tree = nv.read_network_pickle(network_pickle(G, tmp_path / "net.pkl", marker))
    G_ema = tree["G_ema"]
    assert isinstance(G_ema, nv.PersistentObject) and G_ema.class_name == "Generator"
    assert "raise RuntimeError" in G_ema.module_src  # kept as text, never compiled
    assert type(G_ema.get("_init_kwargs")) is dict and type(tree["training_set_kwargs"]) is dict
    assert int(G_ema.get("img_resolution")) == 32
    assert not marker.exists()


@pytest.mark.parametrize("kw", [dict(architecture="orig"), dict(num_fp16_res=2, conv_clamp=256.0),
                                dict(mapping_layers=4, w_dim=32)])
def test_config_variants_round_trip(tmp_path, marker, kw):
    G = make_generator(tiny(16, **kw), seed=2, w_avg_samples=16)
    G2, _ = nv.load_nvidia_pickle(network_pickle(G, tmp_path / "net.pkl", marker))
    assert G2.config == G.config
    with torch.inference_mode():
        assert torch.equal(G(z_batch()), G2(z_batch()))


def test_missing_tensor_is_one_line(G, tmp_path, marker):
    tree = nv.read_network_pickle(network_pickle(G, tmp_path / "net.pkl", marker))
    config, state = nv.extract_generator(tree)
    del state["synthesis.b8.conv0.noise_const"]
    with pytest.raises(ModelError, match="missing 'synthesis.b8.conv0.noise_const'") as e:
        nv.generator_from_state(config, state, "net.pkl")
    assert "\n" not in str(e.value)


def test_a_stylegan2_tree_with_a_stylegan3_layer_grafted_in_is_refused_in_one_line(G, tmp_path, marker):
    tree = nv.read_network_pickle(network_pickle(G, tmp_path / "net.pkl", marker))
    tree["G_ema"].child("synthesis").state["_modules"]["L0_36_512"] = tree["G_ema"].child("mapping").child("fc0")
    with pytest.raises(ModelError, match="StyleGAN3 generator this code cannot build") as err:
        nv.extract_generator(tree)
    assert "\n" not in str(err.value)


def test_not_a_dict_and_truncated(tmp_path):
    with pytest.raises(ModelError, match="expected the dict of networks"):
        nv.read_network_pickle(write_pickle(tmp_path / "list.pkl", [1, 2]))
    (tmp_path / "cut.pkl").write_bytes(pickle.dumps({"G_ema": 1})[:-3])
    with pytest.raises(ModelError, match="not a readable network pickle"):
        nv.read_network_pickle(tmp_path / "cut.pkl")


# --- malicious pickles -------------------------------------------------------------------------------------------

def _touch(marker: Path) -> tuple:
    return (f"touch {marker}",)


def tensor(storage, size=(1,)) -> Reduce:
    return Reduce(REBUILD_TENSOR, (storage, 0, size, (1,), False, OrderedDict()))


def _attacks(marker: Path) -> dict:
    run = _touch(marker)
    zeros = Reduce(LOAD_FROM_BYTES, (legacy_storage_bytes(torch.zeros(4)),))
    return {
        "os.system": Reduce(Global("os", "system"), run),
        "posix.system": Reduce(Global("posix", "system"), run),
        "builtins.eval": Reduce(Global("builtins", "eval"), (f"open({str(marker)!r}, 'w')",)),
        "builtins.exec": Reduce(Global("builtins", "exec"), (f"open({str(marker)!r}, 'w')",)),
        "subprocess.Popen": Reduce(Global("subprocess", "Popen"), (["touch", str(marker)],)),
        "__builtin__.getattr": Reduce(Global("__builtin__", "getattr"),
                                      (Reduce(Global("__builtin__", "__import__"), ("os",)), "system")),
        "copyreg._reconstructor": Reduce(Global("copyreg", "_reconstructor"), (Global("os", "system"), object, None)),
        "nested os.system": tensor(zeros, size=Reduce(Global("os", "system"), run)),
        "storage os.system": tensor(Reduce(LOAD_FROM_BYTES, (legacy_stream(Reduce(Global("os", "system"), run)),))),
        "storage not a storage": tensor("not a storage"),
        "storage out of bounds": tensor(zeros, size=(1000,)),
    }


EXPECTED = {"nested os.system": "os.system", "storage os.system": "os.system",
            "storage not a storage": "where a storage belongs", "storage out of bounds": "past its storage",
            "copyreg._reconstructor": "copyreg._reconstructor"}


@pytest.mark.parametrize("name", list(_attacks(Path("x"))))
def test_malicious_pickle_is_refused(tmp_path, marker, name):
    path = write_pickle(tmp_path / "evil.pkl", {"G_ema": _attacks(marker)[name]})
    with pytest.raises(ModelError, match=EXPECTED.get(name, name).replace(".", r"\.")) as e:
        nv.read_network_pickle(path)
    assert "\n" not in str(e.value)
    assert not marker.exists()


def test_refusal_message_names_file_and_global(tmp_path, marker):
    path = write_pickle(tmp_path / "x.pkl", Reduce(Global("os", "system"), _touch(marker)))
    with pytest.raises(ModelError) as e:
        nv.read_network_pickle(path)
    assert str(e.value) == ("refusing to load 'x.pkl': it references os.system, which a network pickle never "
                            "needs; the file may be malicious")


def test_build_on_a_resolved_function_is_refused(tmp_path):
    path = tmp_path / "build.pkl"  # BUILD could otherwise set attributes of our own rebuild functions
    head = pickle.GLOBAL + b"torch._utils\n_rebuild_parameter\n"
    path.write_bytes(pickle.PROTO + b"\x02" + head + pickle.EMPTY_DICT + pickle.BUILD + pickle.STOP)
    with pytest.raises(ModelError):
        nv.read_network_pickle(path)


# --- convert and describe ----------------------------------------------------------------------------------------

def test_convert_then_load_generator(G, tmp_path, marker):
    pkl = network_pickle(G, tmp_path / "ffhq.pkl", marker)
    meta = convert(pkl, tmp_path / "ffhq.safetensors")
    G2, meta2 = load_generator(tmp_path / "ffhq.safetensors")
    assert meta2["source"] == "ffhq.pkl" and meta2["source_format"] == "nvidia-pickle"
    assert len(meta2["source_sha256"]) == 64 and meta2 == meta
    with torch.inference_mode():
        assert torch.equal(G(z_batch()), G2(z_batch()))
    assert not marker.exists()


def test_describe_pickle_and_safetensors(G, tmp_path, marker):
    pkl = network_pickle(G, tmp_path / "ffhq.pkl", marker)
    text = describe(pkl)
    assert "32x32" in text and f"num_ws {G.num_ws}" in text and "G_ema (Generator)" in text
    assert "16: 16, 32: 8" in text
    convert(pkl, tmp_path / "ffhq.safetensors")
    assert f"num_ws {G.num_ws}" in describe(tmp_path / "ffhq.safetensors")


def test_entry_points(G, tmp_path, marker, capsys):
    pkl = network_pickle(G, tmp_path / "ffhq.pkl", marker)
    assert main_convert([str(pkl)]) == 0 and (tmp_path / "ffhq.safetensors").is_file()
    assert main_models([str(pkl)]) == 0 and "32x32" in capsys.readouterr().out
    assert main_models([str(tmp_path / "nope.pkl")]) == 2
    assert "does not exist" in capsys.readouterr().err
