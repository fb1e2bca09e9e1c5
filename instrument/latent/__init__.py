"""The conductor's maths: latent trajectories (spring, slerp/lerp glides), wander, keyframes, journeys, style mixing.

Pure numpy, stepped with the (t, dt) the engine gives it and never a clock, so a performance replays exactly.
"""

from instrument.latent.conductor import Conductor
from instrument.latent.handoffs import Action, ActionQueue, LatentFrame
from instrument.latent.interp import Glide, latent_from_seed, lerp, slerp, smoothstep, to_shell
from instrument.latent.keyframes import Journey, KeyframeError, Keyframes, Stop
from instrument.latent.mixing import layer_groups, mixing_weights
from instrument.latent.spring import SpringDamper, propagator
from instrument.latent.wander import Wander

__all__ = [
    "Action", "ActionQueue", "Conductor", "Glide", "Journey", "KeyframeError", "Keyframes", "LatentFrame", "Stop",
    "SpringDamper", "Wander", "latent_from_seed", "layer_groups", "lerp", "mixing_weights", "propagator", "slerp",
    "smoothstep", "to_shell",
]
