"""The Streamlit page ``k8s-mlserve ui`` runs: a form and a CSV upload for any served model.

Run by ``streamlit run`` as a script, so it imports the package absolutely; what it shows is
computed by the package's modules, this script only lays it out.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from k8s_mlserve.ui.answers import read_answer, title
from k8s_mlserve.ui.batch import CsvError, read_csv, score, to_csv
from k8s_mlserve.ui.client import ApiClient, Reply
from k8s_mlserve.ui.drift import (
    CURRENT,
    CURRENT_COLOUR,
    REFERENCE,
    REFERENCE_COLOUR,
    FeatureChart,
    feature_charts,
)
from k8s_mlserve.ui.environment import PageConfig
from k8s_mlserve.ui.form import Field, SchemaError, answer_fields, fields_from_openapi

config = PageConfig.from_environ()
client = ApiClient(config.url, api_key=config.api_key, monitoring_token=config.monitoring_token)


def _status(name: str, reply: Reply) -> None:
    if reply.ok:
        st.sidebar.success(f"{name}: yes")
    else:
        st.sidebar.error(f"{name}: no. {reply.message}")


def sidebar() -> None:
    st.sidebar.header("Service")
    st.sidebar.caption(config.url)
    _status("Alive", client.health())
    _status("Ready", client.ready())
    info = client.info()
    if info.ok and isinstance(info.body, dict):
        auth = info.body.get("auth", "unknown")
        st.sidebar.write(f"API keys: **{auth}**")
    version = client.version()
    if not version.ok or not isinstance(version.body, dict):
        st.sidebar.warning(version.message or "No model information.")
        return
    model = version.body
    st.sidebar.header("Model")
    with st.sidebar.container(key="model"):
        st.write(f"**{model.get('name')}** version **{model.get('version')}**")
        st.write(f"Algorithm: {model.get('algorithm') or 'unknown'}")
        st.write(f"Trained at: {model.get('trained_at') or 'unknown'}")
        metrics = model.get("metrics") or {}
        if metrics:
            st.write("Test metrics:")
            st.table({"metric": list(metrics), "value": list(metrics.values())})


def field_input(field: Field) -> Any:
    """One input of the form; returns the value to send."""
    key = f"field-{field.name}"
    missing = False
    entered: Any
    if field.nullable:
        missing = st.checkbox(f"{field.name} is missing", key=f"missing-{field.name}")
    if field.kind == "category":
        entered = st.selectbox(
            field.name,
            field.levels,
            index=field.levels.index(field.default) if field.default in field.levels else 0,
            key=key,
            help="values seen in training",
        )
    elif config.inputs == "sliders" and field.bounded:
        assert field.minimum is not None  # bounded
        assert field.maximum is not None
        integer = field.kind == "integer"
        cast = int if integer else float
        low, high = cast(field.minimum), cast(field.maximum)
        entered = st.slider(
            field.name,
            min_value=low,
            max_value=high,
            value=min(max(cast(field.default), low), high),
            step=1 if integer else float(field.step()),
            format=None if integer else field.number_format(),
            key=key,
            help=_range_help(field),
        )
    elif field.kind == "integer":
        entered = st.number_input(
            field.name,
            min_value=None if field.minimum is None else int(field.minimum),
            max_value=None if field.maximum is None else int(field.maximum),
            value=int(field.default),
            step=1,
            key=key,
            help=_range_help(field),
        )
    else:
        entered = st.number_input(
            field.name,
            min_value=None if field.minimum is None else float(field.minimum),
            max_value=None if field.maximum is None else float(field.maximum),
            value=float(field.default),
            step=float(field.step()),
            format=field.number_format(),
            key=key,
            help=_range_help(field),
        )
    return field.value(entered, missing)


def _range_help(field: Field) -> str | None:
    if not field.bounded:
        return None
    return f"seen in training: {field.minimum:g} to {field.maximum:g}"


def predict_tab(fields: list[Field], extra_schemas: dict[str, dict[str, Any]]) -> None:
    with st.form("predict"):
        columns = st.columns(2)
        row = {}
        for index, field in enumerate(fields):
            with columns[index % 2]:
                row[field.name] = field_input(field)
        submitted = st.form_submit_button("Predict", type="primary")
    if not submitted:
        return
    reply = client.predict(row)
    with st.container(key="answer"):
        if not reply.ok:
            st.error(reply.message)
            return
        answer = read_answer(reply.body, extra_schemas)
        st.metric("Prediction", answer.label)
        for label, probability in answer.probabilities:
            st.progress(probability, text=f"{label}: {probability:.1%}")
        for extra in answer.extras:
            text = f":{extra.colour}[**{extra.text}**]" if extra.colour else f"**{extra.text}**"
            st.markdown(f"{title(extra.name)}: {text}")
        st.caption(
            f"Answered by model version {answer.model_version} in {reply.seconds * 1000:.0f} ms"
        )
        with st.expander("The server's answer"):
            st.json(reply.body)


def batch_tab(fields: list[Field]) -> None:
    st.write(
        "Upload a CSV file with a header line naming the columns "
        f"({', '.join(f.name for f in fields)}). An empty cell means missing."
    )
    upload = st.file_uploader("CSV file", type=["csv"], key="batch-file")
    if upload is None:
        return
    try:
        rows = read_csv(upload.getvalue(), fields)
    except CsvError as exc:
        st.error(f"Cannot read {upload.name}: {exc}")
        return
    if not rows:
        st.warning(f"{upload.name} has no rows.")
        return
    bar = st.progress(0.0, text=f"Scoring {len(rows)} rows")

    def advance(done: int) -> None:
        bar.progress(done / len(rows), text=f"Scored {done} of {len(rows)} rows")

    result = score(client, rows, progress=advance)
    bar.empty()
    with st.container(key="batch-result"):
        if result.stopped:
            st.error(result.stopped)
        st.success(f"{len(result.scored)} of {len(rows)} rows scored.")
        if result.scored:
            st.dataframe(result.scored, key="batch-predictions")
            st.download_button(
                "Download predictions (CSV)",
                to_csv(result.scored),
                file_name="predictions.csv",
                mime="text/csv",
            )
        if result.errors:
            count = len(result.errors)
            st.error(f"{count} row{' was' if count == 1 else 's were'} not scored:")
            with st.container(key="batch-errors"):
                for error in result.errors:
                    st.write(f"Row {error.row}: {error.message}")


def drift_tab() -> None:
    reply = client.drift(histograms=True)
    if not reply.ok or not isinstance(reply.body, dict):
        st.error(reply.message)
        return
    report = reply.body
    verdict = str(report.get("verdict", "unknown"))
    st.metric("Verdict", verdict)
    if report.get("message"):
        st.write(report["message"])
    st.caption(
        f"{report.get('window_size', 0)} recent rows compared with "
        f"{report.get('reference_rows', 0)} training rows"
    )
    features = report.get("features") or []
    table = [
        {k: v for k, v in feature.items() if not isinstance(v, dict | list)}
        for feature in features
        if isinstance(feature, dict)
    ]
    if table:
        st.dataframe(table)
    charts = feature_charts(report)
    if charts:
        st.subheader("Distributions: reference and current")
        with st.container(key="drift-charts"):
            for chart in charts:
                drift_chart(chart)


def drift_chart(chart: FeatureChart) -> None:
    """Reference and current shares of one feature, in the HTML report's two colours."""
    import altair as alt  # both come with Streamlit
    import pandas as pd

    colours = alt.Color(
        "source:N",
        title=None,
        sort=[REFERENCE, CURRENT],
        scale=alt.Scale(domain=[REFERENCE, CURRENT], range=[REFERENCE_COLOUR, CURRENT_COLOUR]),
    )
    base = alt.Chart(pd.DataFrame(chart.rows), title=chart.title)
    share = alt.Y("share:Q", title="share", stack=None)
    if chart.kind == "numeric":
        drawn = base.mark_bar(opacity=0.55).encode(
            x=alt.X("start:Q", title=chart.name, bin="binned"), x2="end:Q", y=share, color=colours
        )
    else:
        drawn = base.mark_bar().encode(
            x=alt.X("level:N", title=chart.name, sort=None),
            xOffset=alt.XOffset("source:N", sort=[REFERENCE, CURRENT]),
            y=share,
            color=colours,
        )
    st.altair_chart(drawn)


def main() -> None:
    st.set_page_config(page_title="Model predictions", layout="wide")
    sidebar()
    spec = client.openapi()
    if not spec.ok:
        st.error(spec.message)
        return
    try:
        fields = fields_from_openapi(spec.body)
    except SchemaError as exc:
        st.error(f"Cannot build the form: {exc}")
        return
    st.title(str(spec.body.get("info", {}).get("title") or "Model predictions"))
    names = ["Predict", "Batch"] + (["Drift"] if client.can_watch_drift else [])
    tabs = st.tabs(names)
    with tabs[0]:
        predict_tab(fields, answer_fields(spec.body))
    with tabs[1]:
        batch_tab(fields)
    if client.can_watch_drift:
        with tabs[2]:
            drift_tab()


main()
