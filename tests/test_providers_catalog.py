"""The model registry: lookups, cost, live lists merged and cached, history fitted to the window."""
from __future__ import annotations

import pytest

from core import keys
from core.errors import NotFound
from core.preferences import set_base_url
from core.providers import catalog
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import db_runtime, fake_server, no_outside_keys  # noqa: F401


@pytest.fixture(autouse=True)
def fresh_live_cache():
    catalog.clear_live_cache()
    yield
    catalog.clear_live_cache()


def test_model_info_from_the_file():
    info = catalog.model_info("openai", "gpt-4o-mini")
    assert (info.context_window, info.input_price, info.output_price, info.streaming) == (128000, 0.15, 0.60, True)
    assert info.description and info.known
    assert "128,000 tokens context" in info.summary


def test_every_registered_llm_has_a_registry_entry_for_its_default_model():
    from core.providers.registry import _LLMS, _MODULES, get_llm, llm_names

    shipped = [name for name in llm_names() if _LLMS[name].__module__ in _MODULES]  # not other tests' fakes
    assert {"offline", "openai", "anthropic", "sarvam", "openai_compatible"} <= set(shipped)
    for name in shipped:
        info = catalog.model_info(name, get_llm(name).default_model)
        assert info.context_window > 0


def test_unknown_model_gets_safe_defaults_and_unknown_provider_is_refused():
    info = catalog.model_info("openai", "gpt-future")
    assert not info.known and info.input_price is None and info.price_label == "price unknown"
    assert catalog.model_info("openai_compatible", "qwen2.5").price_label == "free"
    with pytest.raises(NotFound):
        catalog.model_info("nosuch", "x")


def test_cost_per_call():
    assert catalog.cost_usd("openai", "gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert catalog.cost_usd("anthropic", "claude-haiku-4-5", 2000, 500) == pytest.approx(0.0045)
    assert catalog.cost_usd("openai", "gpt-future", 1000, 1000) == 0.0
    assert catalog.cost_usd("offline", "extractive", 5000, 5000) == 0.0


def test_live_list_is_merged_and_cached(db_runtime, fake_server):
    fake_server.route("GET", "/v1/models", fake_openai.models("gpt-4o-mini", "gpt-9-preview", "text-embedding-3-small", "tts-1"))
    keys.save_key(db_runtime, "openai", "sk-test-123456789")
    set_base_url(db_runtime, "openai", f"{fake_server.url}/v1")
    merged = {info.model: info for info in catalog.list_models(db_runtime, "openai")}
    assert merged["gpt-4o-mini"].live and merged["gpt-4o-mini"].known
    assert merged["gpt-9-preview"].live and not merged["gpt-9-preview"].known
    assert not merged["gpt-4o"].live  # in the file, not listed by this account
    assert "text-embedding-3-small" not in merged and "tts-1" not in merged
    catalog.list_models(db_runtime, "openai")
    assert len(fake_server.calls("GET", "/v1/models")) == 1
    assert fake_server.requests[0].headers["authorization"] == "Bearer sk-test-123456789"


def test_anthropic_live_list(db_runtime, fake_server):
    fake_server.route("GET", "/v1/models", fake_anthropic.models("claude-haiku-4-5", "claude-new-7"))
    keys.save_key(db_runtime, "anthropic", "ak-test-123456789")
    set_base_url(db_runtime, "anthropic", fake_server.url)
    ids = {info.model for info in catalog.list_models(db_runtime, "anthropic") if info.live}
    assert ids == {"claude-haiku-4-5", "claude-new-7"}


def test_offline_or_no_key_means_the_file_only(db_runtime):
    assert [i.model for i in catalog.list_models(db_runtime, "openai")] == [i.model for i in catalog.models("openai")]
    keys.save_key(db_runtime, "openai", "sk-test-123456789")
    set_base_url(db_runtime, "openai", "http://127.0.0.1:9/v1")
    listed = catalog.list_models(db_runtime, "openai")
    assert listed == catalog.models("openai") and not any(info.live for info in listed)
