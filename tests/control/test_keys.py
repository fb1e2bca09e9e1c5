from instrument.control.keys import key_action
from instrument.latent.conductor import Action


def test_keys_map_to_actions_and_commands():
    assert key_action("space") == Action("random_target", ())
    assert key_action("3") == Action("recall", (3,))
    assert key_action("shift+3") == Action("store", (3,))
    assert key_action("f") == "fullscreen"
    assert key_action("h") == "hud"
    assert key_action("escape") == "quit"
    assert key_action("j") == Action("journey_toggle", ())
    assert key_action("n") == Action("journey_next", ())
    assert key_action("0") is None
    assert key_action("shift+x") is None
    assert key_action("q") is None


def test_l_arms_midi_learn():
    assert key_action("l") == "learn"
