"""Model and voice providers: small base classes, a registry by name, one module per vendor."""
from core.providers.registry import get_embedder, get_llm, llm_names, register_embedder, register_llm

__all__ = ["get_embedder", "get_llm", "llm_names", "register_embedder", "register_llm"]
