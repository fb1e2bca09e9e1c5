"""Scene presets: looked up by name only, validated whole, and every shipped scene plays."""

import socket
import time

import pytest

from instrument.control.osc_wire import encode
from instrument.control.scenes import SceneError, bundled_folder, find_scene, load_scene, read_scene, scene_names
from instrument.engine import Engine, PlayOptions
from instrument.params import ParamStore

SHIPPED = scene_names((bundled_folder(),))


def test_scenes_are_shipped():
    assert {"calm", "tunnel", "melt", "textures"} <= set(SHIPPED)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/b", "tunnel.toml", "", "x" * 65, 3])
def test_names_cannot_escape_the_scene_folders(name):
    with pytest.raises(SceneError, match="invalid scene name"):
        find_scene(name)


def test_unknown_scene_suggests_a_near_name():
    with pytest.raises(SceneError, match="did you mean 'tunnel'"):
        find_scene("tunel")


@pytest.mark.parametrize("text, message", [
    ('[params]\n"sprng.stiffness" = 2', "did you mean 'spring.stiffness'"),
    ('[params]\n"fx.pixelsort.direction" = "sideways"', "expected right or left or down or up"),
    ('[params]\n"wander.amount" = "lots"', "expected a number in 0..1"),
    ('[params\n', "cannot be read"),
    ('title = "x"', "must hold a [params] table"),
])
def test_bad_scene_files_are_one_line_errors_naming_the_file(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SceneError, match="bad.toml") as err:
        read_scene(path, ParamStore())
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_bad_scene_applies_nothing(tmp_path):
    (tmp_path / "half.toml").write_text('[params]\n"wander.amount" = 0.5\n"nope.nope" = 1')
    store = ParamStore()
    with pytest.raises(SceneError):
        load_scene("half", store, (tmp_path,))
    assert store.get("wander.amount") == 0.0


@pytest.mark.e2e
def test_every_shipped_scene_loads_and_plays_a_frame():
    engine = Engine(PlayOptions(offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None), log=lambda l: None)
    try:
        for name in SHIPPED:
            assert load_scene(name, engine.store) > 0
            engine.run(0.3)
            assert engine.read_pixels().any(), name
        assert engine.stats()["errors"] == 0
    finally:
        engine.close()


@pytest.mark.e2e
def test_osc_preset_load_applies_a_scene_and_refuses_paths():
    engine = Engine(PlayOptions(offscreen=True, size=(64, 64), osc_port=0, oscquery_port=None), log=lambda l: None)
    try:
        engine.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(encode("/instrument/preset/load", "tunnel"), ("127.0.0.1", engine.osc.port))
            sock.sendto(encode("/instrument/preset/load", "../../etc/passwd"), ("127.0.0.1", engine.osc.port))
            deadline = time.monotonic() + 3
            while engine.store.get("fx.feedback.amount") != 0.85 and time.monotonic() < deadline:
                time.sleep(0.01)
            sock.settimeout(3)
            replies = [sock.recv(4096) for _ in range(1)]
        assert engine.store.get("fx.feedback.amount") == 0.85
        assert engine.osc.errors == 1 and b"invalid scene name" in replies[0]
    finally:
        engine.close()
