"""`instrument play | doctor | bench | params`.

Every error a person can fix prints one line (`instrument: error: …`) and exits 2; nothing prints a traceback
unless INSTRUMENT_DEBUG=1 is set.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from instrument.errors import InstrumentError


def size_arg(text: str) -> tuple[int, int]:
    """'800x600' or '512' (square) -> (800, 600)."""
    parts = text.lower().split("x")
    try:
        w, h = (int(parts[0]), int(parts[-1])) if len(parts) in (1, 2) else (0, 0)
    except ValueError:
        w = h = 0
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"invalid size '{text}': expected WIDTHxHEIGHT like 800x600, 16..16384")
    return w, h


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"invalid value '{text}': expected a positive {kind.__name__}")
        return value
    return parse


def seed_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"invalid seed '{text}': expected an integer 0..4294967295")
    return value


def port_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port '{text}': expected 0..65535 (0 = any free port)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instrument", description="A latent-space audiovisual instrument.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    play = sub.add_parser("play", help="open the window and play (offscreen where there is no display)")
    play.add_argument("--model", help="generator: .safetensors, NVIDIA .pkl or rosinality .pt (default: bundled)")
    play.add_argument("--size", type=size_arg, default=(768, 768), help="window size WIDTHxHEIGHT (default 768x768)")
    play.add_argument("--seconds", type=positive(float), help="stop after S seconds and print run statistics")
    play.add_argument("--offscreen", action="store_true", help="render offscreen through EGL, no window")
    play.add_argument("--fullscreen", action="store_true", help="start fullscreen (f toggles)")
    play.add_argument("--seed", type=seed_arg, default=0, help="seed of the latent trajectory (default 0)")
    play.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    play.add_argument("--fps", type=positive(float), default=60.0, help="display rate when vsync can't pace (60)")
    play.add_argument("--no-vsync", dest="vsync", action="store_false", help="do not wait for vertical sync")
    play.add_argument("--scene", metavar="NAME", help="start from a scene preset (presets/scenes/NAME.toml)")
    play.add_argument("--record", metavar="PATH", help="record the performance to a new z-log at PATH")
    play.add_argument("--no-audio", dest="audio", action="store_false", help="no sound")
    play.add_argument("--sound", metavar="SLOT=NAME", action="append", dest="sounds",
                      help="keyframe SLOT carries the timbre of sound NAME (NAME.wav in the sounds folder); repeatable")
    play.add_argument("--sounds-dir", metavar="DIR", help="folder of sound WAVs (default ~/.config/instrument/sounds)")
    play.add_argument("--audio-device", help="sound output: a device name or number from 'instrument doctor'")
    play.add_argument("--midi-map", metavar="NAME|FILE",
                      help="controller mapping: nanokontrol2, midimix, launchcontrol_xl, generic, or a .toml file")
    play.add_argument("--midi-ports", metavar="NAMES", type=lambda t: [p for p in t.split(",") if p.strip()],
                      help="open only inputs whose names contain one of these (comma separated)")
    play.add_argument("--midi-api", default="auto", choices=["auto", "jack", "alsa", "coremidi", "winmm"],
                      help="MIDI system (default auto)")
    play.add_argument("--no-midi", dest="midi", action="store_false", help="do not open MIDI inputs")
    play.add_argument("--midi-feedback", action=argparse.BooleanOptionalAction, default=None,
                      help="send parameter values back to the controllers' lights (default: the mapping's feedback)")
    play.add_argument("--osc-host", default="127.0.0.1",
                      help="address the OSC server listens on (default 127.0.0.1; 0.0.0.0 for the network)")
    play.add_argument("--osc-port", type=port_arg, default=9000, help="OSC UDP port (default 9000; 0 = any free)")
    play.add_argument("--oscquery-port", type=port_arg, default=9001, help="OSCQuery HTTP port (default 9001)")
    play.add_argument("--no-oscquery", dest="oscquery_port", action="store_const", const=None,
                      help="no OSCQuery discovery server")
    play.add_argument("--no-osc", dest="osc", action="store_false", help="do not listen for OSC")

    sub.add_parser("doctor", help="report torch, devices, OpenGL, audio and MIDI as this machine sees them")

    bench = sub.add_parser("bench", help="measure generator, display and latency; print a table, write JSON")
    bench.add_argument("what", nargs="?", choices=["engine", "gpu"], default="engine",
                       help="engine (default): the live engine; gpu: the CUDA fast path against eager float32")
    bench.add_argument("--seconds", type=positive(float), help="length of each engine / pipeline run (8 / 5)")
    bench.add_argument("--json", help="where to write the results (bench.json / bench-gpu.json)")
    bench.add_argument("--sizes", help="generator resolutions to time, comma separated (128,256 / 256,512,1024)")
    bench.add_argument("--sg3-sizes", default="1024", help="gpu: StyleGAN3-T resolutions ('' for none; 1024)")
    bench.add_argument("--frames", type=positive(int), default=200, help="gpu: timed frames per path (200)")
    bench.add_argument("--device", default="auto", help="gpu: auto, cpu or cuda[:N] (default auto)")
    bench.add_argument("--channel-base", type=positive(int), default=32768, help="gpu: channel_base (32768)")
    bench.add_argument("--channel-max", type=positive(int), default=512, help="gpu: channel_max (512)")
    bench.add_argument("--compile", action="store_true", help="gpu: torch.compile the frame before capture")

    train = sub.add_parser("train", help="train a model: 'instrument train image --help'", add_help=False)
    train.add_argument("what", choices=["image", "timbre", "features"], help="which model to train")
    train.add_argument("rest", nargs=argparse.REMAINDER, help="options of that trainer")

    for name, text in (("convert", "convert a .pkl / .pt generator to .safetensors: 'instrument convert IN -o OUT'"),
                       ("models", "describe what a model file holds: 'instrument models FILE'"),
                       ("render", "re-render a z-log to video: 'instrument render LOG -o out.mp4' (--help)"),
                       ("explore", "proxy video + z-log of N random samples: 'instrument explore N -o DIR'"),
                       ("journeys", "short journeys between chosen rows of a z-log: 'instrument journeys LOG'"),
                       ("directions", "GANSpace directions of a model: 'instrument directions --model FILE'"),
                       ("quality", "FID/KID/path length in our emoji feature space: 'instrument quality --model F'"),
                       ("showcase", "sample grid + interpolation strips as PNG: 'instrument showcase -o DIR'")):
        passthrough = sub.add_parser(name, help=text, add_help=False)
        passthrough.add_argument("rest", nargs=argparse.REMAINDER)

    conform = sub.add_parser("conform", help="turn an edit of proxy videos back into a z-log")
    conform.add_argument("edit", help=".otio, .edl (CMX3600), .xml (FCP7) or .kdenlive")
    conform.add_argument("-o", "--output", required=True, help="the conformed z-log to write")
    conform.add_argument("--search", action="append", default=[], metavar="DIR",
                         help="folder to look for the clips' z-logs in (repeatable; the edit's folder first)")
    conform.add_argument("--rate", type=positive(float), help="frame rate of an EDL (EDLs don't say; default 30)")
    conform.add_argument("--overwrite", action="store_true", help="replace an existing output file")

    zlog = sub.add_parser("zlog", help="inspect z-log recordings: 'instrument zlog info PATH'", add_help=False)
    zlog.add_argument("what", choices=["info"])
    zlog.add_argument("rest", nargs=argparse.REMAINDER)

    sub.add_parser("osc-namespace", help="list every OSC address (the same table OSCQuery serves)")

    params = sub.add_parser("params", help="list every playable parameter")
    params.add_argument("--markdown", action="store_true", help="as the Markdown table the README carries")
    return parser


# Commands whose own argument parser lives with the code they run: their arguments pass through untouched
# (argparse's REMAINDER would swallow a leading option such as 'directions --model').
PASSTHROUGH = {"convert": ("instrument.models.convert", "main_convert"),
               "models": ("instrument.models.convert", "main_models"),
               "render": ("instrument.record.render", "main_render"),
               "explore": ("instrument.record.explore", "main_explore"),
               "journeys": ("instrument.record.explore", "main_journeys"),
               "directions": ("instrument.latent.directions", "main_directions"),
               "quality": ("instrument.train.quality", "main_quality"),
               "showcase": ("instrument.train.showcase", "main_showcase")}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in PASSTHROUGH:
        module, function = PASSTHROUGH[argv[0]]
        return _guarded(lambda: getattr(importlib.import_module(module), function)(argv[1:]))
    args = build_parser().parse_args(argv)
    return _guarded(lambda: COMMANDS[args.command](args))


def _guarded(run) -> int:
    """Run a command: a person's mistake is one line and exit 2, never a traceback on stage."""
    try:
        return run()
    except InstrumentError as e:
        print(f"instrument: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if os.environ.get("INSTRUMENT_DEBUG"):
            raise
        print(f"instrument: internal error: {type(e).__name__}: {e} (set INSTRUMENT_DEBUG=1 for the traceback "
              "and please report it)", file=sys.stderr)
        return 1


def cmd_play(args) -> int:
    from instrument.engine import Engine, PlayOptions
    options = PlayOptions(model=args.model, size=args.size, seconds=args.seconds, offscreen=args.offscreen,
                          fullscreen=args.fullscreen, seed=args.seed, device=args.device, fps=args.fps,
                          vsync=args.vsync, osc=args.osc, osc_host=args.osc_host, osc_port=args.osc_port,
                          oscquery_port=args.oscquery_port, record=args.record, scene=args.scene,
                          audio=args.audio, audio_device=_device_arg(args.audio_device), midi=args.midi, midi_map=args.midi_map, midi_api=args.midi_api, midi_ports=args.midi_ports,
                          midi_feedback=args.midi_feedback, sounds=args.sounds, sounds_dir=args.sounds_dir)
    log = lambda line: print(f"instrument: {line}", file=sys.stderr)  # noqa: E731 - stdout is for the stats
    engine = Engine(options, log=log)
    engine.start()
    osc = "no OSC" if engine.osc is None else f"OSC on {args.osc_host}:{engine.osc.port}"
    log(f"playing {engine.model.name} at {engine.resolution[0]}x{engine.resolution[1]} on {engine.device}, "
        f"{engine.stats()['display']}, {osc}; " + ("Ctrl-C to stop" if args.seconds is None else f"{args.seconds:g} s"))
    try:
        engine.run(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        engine.close()
    print(json.dumps(engine.stats()))
    return 0


def _device_arg(text: str | None):
    """A sounddevice device: its number when given as digits, else its name (or None for the default)."""
    return int(text) if text is not None and text.isdigit() else text


def cmd_doctor(args) -> int:
    from instrument.doctor import report
    print(report())
    return 0


def cmd_bench(args) -> int:
    if args.what == "gpu":
        from instrument.bench_gpu import run_gpu_bench
        run_gpu_bench(_sizes(args.sizes or "256,512,1024"), _sizes(args.sg3_sizes), args.json or "bench-gpu.json",
                      frames=args.frames, seconds=args.seconds or 5.0, device=args.device,
                      channel_base=args.channel_base, channel_max=args.channel_max, compile=args.compile)
        return 0
    from instrument.bench import run_bench
    run_bench(args.seconds or 8.0, args.json or "bench.json", _sizes(args.sizes or "128,256"))
    return 0


def _sizes(text: str) -> list[int]:
    """'256,512' -> [256, 512]; a bad entry is a one-line error naming it."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InstrumentError(f"invalid sizes '{text}': expected resolutions like 256,512,1024") from None


def cmd_train(args) -> int:
    if args.what == "features":
        from instrument.train.features import main_features
        return main_features(args.rest)
    if args.what == "timbre":
        from instrument.train.timbre import main as train_timbre
        return train_timbre(args.rest)
    from instrument.train.image import main as train_image
    return train_image(args.rest)


def cmd_conform(args) -> int:
    from instrument.record.conform import conform
    print(conform(args.edit, args.output, search_dirs=args.search or None, rate=args.rate,
                  overwrite=args.overwrite))
    return 0


def cmd_zlog(args) -> int:
    from instrument.record.cli import zlog_info_main
    return zlog_info_main(args.rest)


def cmd_osc_namespace(args) -> int:
    from instrument.control.osc import namespace_table
    print(namespace_table())
    return 0


def cmd_params(args) -> int:
    from instrument.params import PARAMS, markdown_table
    if args.markdown:
        print(markdown_table())
        return 0
    for p in PARAMS:
        span = "/".join(p.choices) if p.kind == "enum" else f"{p.lo:g}..{p.hi:g}"
        print(f"{p.name:26} {span:24} default {p.label(p.default):12} {p.doc}")
    return 0


COMMANDS = {"play": cmd_play, "doctor": cmd_doctor, "bench": cmd_bench, "train": cmd_train, "zlog": cmd_zlog,
            "conform": cmd_conform,
            "osc-namespace": cmd_osc_namespace, "params": cmd_params}
