import pytest

from voices import (
    DEFAULT_VOICES,
    available_voices,
    default_voice,
    load_voice,
    voice_info,
)


def test_defaults_per_language():
    assert DEFAULT_VOICES == {"en": "joe", "zh": "baker"}
    assert default_voice("en").name == "joe" and default_voice("en").sample_rate == 22050
    assert default_voice("zh").name == "baker" and default_voice("zh").sample_rate == 24000
    assert [v.name for v in available_voices("zh")] == ["baker", "espeak-zh"]
    assert {v.name for v in available_voices()} >= {"joe", "baker", "espeak-en"}
    with pytest.raises(KeyError):
        default_voice("fr")
    with pytest.raises(KeyError):
        voice_info("nobody")


def test_loaded_voices_match_their_catalogue_entries(piper_engine, zh_engine):
    for engine, name in ((piper_engine, "joe"), (zh_engine, "baker")):
        info = voice_info(name)
        assert engine.language == info.language
        assert engine.sample_rate == info.sample_rate


def test_load_voice_reuses_the_prepared_cache(voice_cache_dir, zh_engine):
    steps: list[str] = []
    engine = load_voice("baker", voice_cache_dir, steps.append)
    assert steps == []  # already provisioned by the session fixture
    (seg,) = engine.synthesize("好的。")
    assert seg.sample_rate == 24000
