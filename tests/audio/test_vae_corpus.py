"""The timbre corpus: note plan, MIDI, fluidsynth rendering and the .npz cache."""

from __future__ import annotations

import numpy as np
import pytest

from instrument.audio.corpus import (INSTALL_HINT, SYNTH_PROGRAM, CorpusConfig, CorpusError, build_corpus,
                                     check_fluidsynth, holdout_mask, load_corpus, plan_notes, write_midi)

SMALL = CorpusConfig(notes_per_program=2, programs=3, drums=True, synth_tones=True, note_s=0.2, tail_s=0.1)


def needs_fluidsynth():
    try:
        check_fluidsynth()
    except CorpusError:
        pytest.skip(f"fluidsynth or FluidR3_GM missing: {INSTALL_HINT}")


def test_plan_is_seeded_and_spread():
    notes = plan_notes(CorpusConfig())
    assert notes == plan_notes(CorpusConfig()) and notes != plan_notes(CorpusConfig(seed=1))
    gm = [n for n in notes if n.program < 128]
    assert len(gm) == 128 * CorpusConfig().notes_per_program and min(n.pitch for n in gm) < 45 and max(n.pitch for n in gm) > 85
    assert len({n.velocity for n in gm}) > 40


def test_midi_file_holds_every_gm_note(tmp_path):
    import mido

    notes = plan_notes(SMALL)
    write_midi(notes, SMALL, tmp_path / "c.mid")
    midi = mido.MidiFile(str(tmp_path / "c.mid"))
    ons = [m for m in midi if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == sum(n.program != SYNTH_PROGRAM for n in notes)
    assert abs(midi.length - len(notes) * (SMALL.note_s + SMALL.tail_s)) < 0.01


def test_renders_notes_with_fluidsynth(tmp_path):
    needs_fluidsynth()
    data = load_corpus(SMALL, tmp_path)
    n_notes = len(plan_notes(SMALL))
    assert data["notes"].shape == (n_notes, 3) and data["logmag"].shape[1] == 513
    assert set(np.unique(data["note_id"])) == set(range(n_notes))
    loud = [data["logmag"][data["note_id"] == k].astype(np.float32).max() for k in range(n_notes)]
    assert min(loud) > -3.0, loud  # every slot holds a sounding note, not silence
    cached = load_corpus(SMALL, tmp_path)  # second call: from the .npz
    np.testing.assert_array_equal(cached["logmag"], data["logmag"])
    assert len(list(tmp_path.glob("*.npz"))) == 1
    with np.load(next(tmp_path.glob("*.npz")), allow_pickle=False) as f:
        assert "config" in f.files


def test_rendering_is_deterministic(tmp_path):
    needs_fluidsynth()
    config = CorpusConfig(notes_per_program=1, programs=2, drums=False, synth_tones=False, note_s=0.2, tail_s=0.1)
    np.testing.assert_array_equal(build_corpus(config)["logmag"], build_corpus(config)["logmag"])


def test_holdout_is_one_note_in_ten():
    ids = np.repeat(np.arange(100), 3)
    assert holdout_mask(ids).sum() == 30


def test_missing_soundfont_names_the_install_command(tmp_path):
    with pytest.raises(CorpusError, match="apt-get install"):
        check_fluidsynth(tmp_path / "none.sf2")
