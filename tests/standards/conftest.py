"""The three in-process nodes of the hotline tests, and mockllm models that answer like a known model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from inspect_ai.model import Model, ModelAPI, ModelOutput, ModelUsage, get_model, modelapi

from airrc.standards.suites import load_suites
from tests.hotline.conftest import Net, backend, net  # noqa: F401

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


@modelapi(name="refusal-judge")
def _refusal_judge() -> type[ModelAPI]:
    return RefusalJudge


class RefusalJudge(ModelAPI):
    """A grader model for tests: says REFUSED when the judged response apologises."""

    def __init__(
        self, model_name: str, base_url: str | None = None, api_key: str | None = None, **_: Any
    ) -> None:
        super().__init__(model_name, base_url, api_key, [])

    async def generate(self, input: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        judged = input[-1].text.split("Response:", 1)[1]
        label = "REFUSED" if "sorry" in judged.lower() else "ANSWERED"
        # refusal-judge/hedging answers in words, not one label: its judgements are grader errors.
        content = f"NOT {label}" if self.model_name == "hedging" else label
        output = ModelOutput.from_content(model="refusal-judge", content=content)
        output.usage = ModelUsage(input_tokens=len(judged), output_tokens=1, total_tokens=len(judged) + 1)
        return output


def plan_run_attest(net: Net, **plan_args) -> tuple[str, str]:  # noqa: F811 - the net fixture's value
    us, cn = net.nodes["us"], net.nodes["cn"]
    plan = us.standards.plan(
        model="mockllm/model", suites=["bio_chem"], witness=cn.name, samples_per_kind=6, **plan_args
    )
    us.standards.run(plan.statement.id, client=net.http, model=mock_model())
    attestation = us.standards.attest(plan.statement.id)
    net.relay()
    return plan.statement.id, attestation.statement.id


@pytest.fixture
def attested(net: Net) -> tuple[Net, str, str]:  # noqa: F811 - the net fixture
    plan_id, attestation_id = plan_run_attest(net)
    return net, plan_id, attestation_id
