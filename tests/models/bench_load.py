"""Load-time benchmark (not a test): a config-F 1024² generator as an NVIDIA pickle (built with the test
fixtures), converted, and as our safetensors. Run: .venv/bin/python tests/models/bench_load.py"""
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))

from fixtures import network_pickle
from instrument.models.stylegan2 import GeneratorConfig, make_generator
from instrument.models.convert import load_any, convert
from instrument.models.weights import load_generator
cfg = GeneratorConfig(z_dim=512, w_dim=512, img_resolution=1024, channel_base=32768, channel_max=512)
G = make_generator(cfg, 0, w_avg_samples=256)
d = Path(tempfile.mkdtemp())
pkl = network_pickle(G, d / "network-snapshot-1024.pkl", d / "marker")
print("pickle MiB", round(pkl.stat().st_size / 2**20, 1), "params M", round(sum(p.numel() for p in G.parameters())/1e6, 1))
for name, fn in (("nvidia pickle", lambda: load_any(pkl)), ("convert to safetensors", lambda: convert(pkl, d / "g.safetensors")),
                 ("our safetensors", lambda: load_generator(d / "g.safetensors"))):
    t = time.perf_counter(); fn(); print(f"{name:24} {time.perf_counter() - t:6.2f} s")
