"""The computer keyboard as a controller: key names (from the window) to conductor actions or window commands.

    space          new random target for source A
    1..9           recall keyframe 1..9
    shift+1..9     store the current latent as keyframe 1..9
    k              kick the spring
    j              play a journey through the stored keyframes / stop it
    n              next keyframe of the journey
    r              start / stop recording a z-log (recordings/<date-time>.zlog)
    l              MIDI learn: arm the parameter last changed from OSC or keys; the next control moved binds to it
    f              fullscreen on/off
    h              HUD on/off
    escape         quit
"""

from __future__ import annotations

from instrument.latent.conductor import Action

WINDOW_COMMANDS = {"f": "fullscreen", "h": "hud", "r": "record", "l": "learn", "escape": "quit"}
SIMPLE = {"k": "kick", "j": "journey_toggle", "n": "journey_next"}


def key_action(name: str) -> Action | str | None:
    """An `Action` for the conductor, a window command string, or None for an unbound key."""
    if name in WINDOW_COMMANDS:
        return WINDOW_COMMANDS[name]
    if name == "space":
        return Action("random_target", ())
    if name in SIMPLE:
        return Action(SIMPLE[name], ())
    shifted = name.startswith("shift+")
    digit = name.removeprefix("shift+")
    if len(digit) == 1 and digit in "123456789":
        return Action("store" if shifted else "recall", (int(digit),))
    return None
