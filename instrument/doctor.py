"""`instrument doctor`: what this machine offers the instrument, each probe in its own try so one failure
doesn't hide the rest. Every failed probe says what to install or set."""

from __future__ import annotations

import platform

from instrument.sysio import quiet_c_stderr


def report() -> str:
    sections = [("python", _python), ("torch", _torch), ("opengl (window)", _gl_window),
                ("opengl (offscreen EGL)", _gl_egl), ("audio", _audio), ("midi", _midi)]
    lines = []
    for title, probe in sections:
        try:
            with quiet_c_stderr():
                body = probe()
        except Exception as e:  # a probe must never stop the report
            body = [f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"]
        lines.append(f"{title}:")
        lines.extend(f"  {line}" for line in body)
    return "\n".join(lines)


def _python() -> list[str]:
    import instrument
    return [f"{platform.python_version()} on {platform.platform()}", f"instrument {instrument.__version__}"]


def _torch() -> list[str]:
    import torch
    lines = [f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            lines.append(f"cuda:{i} {torch.cuda.get_device_name(i)} (CUDA {torch.version.cuda})")
    else:
        lines.append("no CUDA device: the generator runs on the CPU")
    if torch.backends.mps.is_available():
        lines.append("mps available")
    return lines


def _gl_window() -> list[str]:
    from instrument.render.window import display_available
    ok, reason = display_available()
    if not ok:
        return [f"no window: {reason}; 'instrument play' runs offscreen"]
    from instrument.render.window import Window
    window = Window((64, 64), title="instrument doctor")
    try:
        return [_gl_info(window.ctx)]
    finally:
        window.close()


def _gl_egl() -> list[str]:
    from instrument.render.offscreen import Offscreen
    surface = Offscreen((64, 64))
    try:
        return [_gl_info(surface.ctx)]
    finally:
        surface.release()


def _gl_info(ctx) -> str:
    info = ctx.info
    return f"{info['GL_RENDERER']} — OpenGL {ctx.version_code // 100}.{ctx.version_code % 100 // 10}"


def _audio() -> list[str]:
    try:
        import sounddevice as sd
    except OSError as e:
        return [f"PortAudio not found ({e}); install it: Debian 'apt-get install libportaudio2'"]
    lines = [f"PortAudio: {sd.get_portaudio_version()[1]}"]
    for api in sd.query_hostapis():
        lines.append(f"host API {api['name']}: {len(api['devices'])} device(s)")
    for i, dev in enumerate(sd.query_devices()):
        lines.append(f"  [{i}] {dev['name']} — out {dev['max_output_channels']} ch, "
                     f"{dev['default_samplerate']:.0f} Hz")
    if not any(dev["max_output_channels"] > 0 for dev in sd.query_devices()):
        lines.append("no audio output device: no sound card? 'jackd -d dummy -r 48000' gives a virtual one")
    return lines


def _midi() -> list[str]:
    import rtmidi
    lines = []
    for api in rtmidi.get_compiled_api():
        name = rtmidi.get_api_display_name(api)
        try:
            ports = rtmidi.MidiIn(api).get_ports()
            lines.append(f"{name}: {len(ports)} input port(s) {', '.join(ports)}".rstrip())
        except Exception as e:  # rtmidi raises SystemError when an API has no backend running
            lines.append(f"{name}: unavailable ({str(e).splitlines()[0] if str(e) else type(e).__name__})")
    return lines or ["python-rtmidi was built without any MIDI API"]
