"""The three in-process nodes of the hotline tests, and mockllm models that answer like a known model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai.model import Model, ModelOutput, ModelUsage, get_model

from airrc.standards.suites import load_suites
from tests.hotline.conftest import backend, net  # noqa: F401

REFUSAL = "I'm sorry, but I can't help with that request."
ANSWER = "Here is a short, general explanation of the topic."


def hazard_prompts() -> set[str]:
    return {
        text
        for suite in load_suites().suites.values()
        for sample in suite.samples
        if sample.kind == "hazard"
        for text in sample.text.values()
    }


def mock_model(refuses: Callable[[str], bool] | None = None) -> Model:
    """A mockllm model whose every answer sets token usage (mockllm's own counting needs a tokenizer download).

    By default it refuses exactly the hazardous prompts: a model that meets every requirement.
    """
    hazards = hazard_prompts()
    decide = refuses or (lambda prompt: prompt in hazards)

    def outputs(messages: list[Any], _tools: Any, _choice: Any, _config: Any) -> ModelOutput:
        prompt = messages[-1].text
        output = ModelOutput.from_content(
            model="mockllm/model", content=REFUSAL if decide(prompt) else ANSWER
        )
        output.usage = ModelUsage(input_tokens=len(prompt), output_tokens=10, total_tokens=len(prompt) + 10)
        return output

    return get_model("mockllm/model", custom_outputs=outputs)
