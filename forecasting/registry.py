"""Models in MLflow: the pyfunc wrapper, logging and loading a Forecaster, promotion by alias.

With `tracking` (runs and what is logged to them), the only modules of forecasting/ that import
MLflow. The fitted `Forecaster` travels as a pickle artifact inside a pyfunc model (it holds
only numpy arrays, dicts and dates, so the standard library's pickle is enough and loading needs
no MLflow-specific code: `local_registry` reads it, and an embedded store, without MLflow);
`load_forecaster` gives it back for in-process use. A pickle executes code when loaded: load
models only from a registry you trust.
Promotion moves the `champion` alias, never stages: a candidate takes it only when its backtest
pinball loss, as a ratio to the published baseline's on the same origins, beats the champion's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from importlib import metadata as distributions
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import polars as pl
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel
from mlflow.tracking import MlflowClient

from forecasting.errors import DelaiError
from forecasting.forecaster import Forecaster
from forecasting.local_registry import (
    CHAMPION,
    FORECASTER_ARTIFACT,
    MODEL_URI,
    ForecasterInfo,
    code_fingerprint,
    first_line,
    read_payload,
    warn_if_code_changed,
    write_payload,
)
from forecasting.predictions import predict_table
from forecasting.promotion import SCORE, PromotionDecision, decide
from forecasting.tracking import artifact_store, log_dict, log_metrics, set_tags

SCORE_TAG = SCORE
# What the pickled Forecaster needs to be loaded and to answer; pinned to what trained it.
RUNTIME_DISTRIBUTIONS = (
    "mlflow",
    "polars",
    "numpy",
    "pandas",
    "pyarrow",
    "statsmodels",
    "scipy",
    "scikit-learn",
    "holidays",
    "pydantic",
    "pydantic-settings",
    "cloudpickle",
)
_ENTRY_POINT = '''"""delai's pyfunc entry point (MLflow models from code)."""

import mlflow

from forecasting.registry import DelaiPyfunc

mlflow.models.set_model(DelaiPyfunc())
'''


# --- the pyfunc --------------------------------------------------------------------------------
class DelaiPyfunc(PythonModel):
    """Serves a pickled `Forecaster`: text requests in, ISO dates and per-row errors out.

    `model_version` in the answers is the registered version when the loader passes it as
    `model_config={"model_version": ...}` (as `load_pyfunc` does), else the training run's id.
    """

    def load_context(self, context: Any) -> None:
        payload = read_payload(Path(context.artifacts[FORECASTER_ARTIFACT]))
        warn_if_code_changed(payload)
        self.forecaster_: Forecaster = payload["forecaster"]
        self.run_id_: str = payload["run_id"]
        config = context.model_config or {}
        self.model_version_ = str(config.get("model_version") or f"run-{self.run_id_}")

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = pl.from_pandas(model_input)
        answers = predict_table(self.forecaster_, frame, model_version=self.model_version_)
        return answers.to_pandas()


def pip_requirements() -> list[str]:
    """The runtime distributions pinned to the installed versions."""
    return [f"{name}=={distributions.version(name)}" for name in RUNTIME_DISTRIBUTIONS]


def log_forecaster(
    forecaster: Forecaster,
    *,
    name: str,
    input_example: pd.DataFrame,
    metrics: Mapping[str, float | None] | None = None,
    params: Mapping[str, object] | None = None,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log `forecaster` as a pyfunc in the active run, registering it when a name is given.

    The signature is inferred from `input_example` and the model's own answer to it; metrics and
    params are attached to the logged model as well as the run.
    """
    run = mlflow.active_run()
    if run is None:
        raise DelaiError("log_forecaster must be called inside a run (see `tracked_run`)")
    run_id = run.info.run_id
    example = pl.from_pandas(input_example)
    answer = predict_table(forecaster, example, model_version=f"run-{run_id}")
    signature: ModelSignature = infer_signature(input_example, answer.to_pandas())
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / f"{FORECASTER_ARTIFACT}.pkl"
        write_payload(payload, forecaster, run_id=run_id)
        # Models from code: the wrapper is rebuilt by importing it, not unpickled.
        entry = Path(folder) / "delai_model.py"
        entry.write_text(_ENTRY_POINT)
        with artifact_store():
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=str(entry),
                artifacts={FORECASTER_ARTIFACT: str(payload)},
                signature=signature,
                input_example=input_example,
                # Explicit pins: no slow requirement-inference subprocess, and no surprises.
                pip_requirements=pip_requirements(),
                registered_model_name=registered_model_name,
                # Declared so loaders may pass the registered version (see `load_pyfunc`).
                model_config={"model_version": ""},
                params={
                    **{k: str(v) for k, v in (params or {}).items()},
                    "code_fingerprint": code_fingerprint(),
                },
            )
    if metrics:
        log_metrics(metrics, model_id=info.model_id)
    return info


def load_forecaster(model_uri: str) -> tuple[Forecaster, ForecasterInfo]:
    """The Forecaster inside a logged pyfunc, for fast in-process answers, and where it came from.

    `models:/NAME@ALIAS` and `models:/NAME/VERSION` are resolved so the version is known.
    """
    version = resolve_version(model_uri)
    model = load_pyfunc(model_uri, model_version=version)
    wrapper = model.unwrap_python_model()
    if not isinstance(wrapper, DelaiPyfunc):
        raise DelaiError(f"`--model-uri` must point to a delai model, got '{model_uri}'")
    info = ForecasterInfo(
        model_uri=model_uri,
        model_version=wrapper.model_version_,
        as_of=wrapper.forecaster_.as_of_,
        run_id=wrapper.run_id_,
    )
    return wrapper.forecaster_, info


def load_pyfunc(model_uri: str, *, model_version: str | None = None) -> Any:
    """`mlflow.pyfunc.load_model`, with the registered version passed to the model's answers.

    An alias is resolved once and the version it named is loaded, so the version reported is
    the one answering even if the alias moves meanwhile.
    """
    version = model_version if model_version is not None else resolve_version(model_uri)
    match = MODEL_URI.match(model_uri)
    target = f"models:/{match['name']}/{version}" if match and version else model_uri
    try:
        return mlflow.pyfunc.load_model(
            target, model_config={"model_version": version} if version else None
        )
    except (MlflowException, DelaiError) as exc:
        raise DelaiError(
            f"`--model-uri` must name a loadable model, got '{target}': {first_line(exc)}"
        ) from None


def resolve_version(model_uri: str) -> str | None:
    """The registered version a `models:/` URI names, or None for any other URI."""
    match = MODEL_URI.match(model_uri)
    if match is None:
        return None
    if match["version"]:
        return match["version"]
    try:
        found = MlflowClient().get_model_version_by_alias(match["name"], match["alias"])
    except MlflowException:
        raise DelaiError(
            f"`--model-uri` must name an existing model and alias, got '{model_uri}': no version "
            f"of '{match['name']}' has the alias '{match['alias']}' (has a training been promoted?)"
        ) from None
    return str(found.version)


# --- promotion ---------------------------------------------------------------------------------
def promote_if_better(
    client: MlflowClient,
    model_name: str,
    version: str,
    candidate_score: float,
    *,
    alias: str = CHAMPION,
    min_improvement: float = 0.0,
) -> PromotionDecision:
    """Give `version` the alias if it beats the baseline and the current holder (`promotion`).

    The score is stored on the version (tag `pinball_ratio`) so later trainings can read it; the
    decision is tagged on the version and, inside a run, logged to it (`promotion.json`).
    """
    score = float(candidate_score)
    client.set_model_version_tag(model_name, version, SCORE_TAG, repr(score))
    champion_version, champion_score = _current(client, model_name, alias)
    promoted, reason = decide(
        score, champion_version, champion_score, min_improvement=min_improvement
    )
    if promoted:
        client.set_registered_model_alias(model_name, alias, version)
    decision = PromotionDecision(
        promoted=promoted,
        reason=reason,
        model_name=model_name,
        candidate_version=str(version),
        candidate_score=score,
        champion_version=champion_version,
        champion_score=champion_score,
    )
    verdict = "promoted" if promoted else "refused"
    client.set_model_version_tag(model_name, version, "promotion", verdict)
    client.set_model_version_tag(model_name, version, "promotion_reason", reason)
    if mlflow.active_run() is not None:
        log_dict(decision.as_dict(), "promotion.json")
        set_tags({"promotion.promoted": promoted, "promotion.reason": reason})
    return decision


def _current(client: MlflowClient, model_name: str, alias: str) -> tuple[str | None, float | None]:
    """The alias holder's version and recorded score (None when absent or unreadable)."""
    try:
        holder = client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None, None
    raw = holder.tags.get(SCORE_TAG)
    try:
        score = float(raw) if raw is not None else None
    except ValueError:
        score = None
    return str(holder.version), score
