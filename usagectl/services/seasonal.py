"""Small helpers shared by `forecast` and `anomalies`: dense daily series and the models.

The statistics work on floats (the models are estimates); money from a model comes back to
Decimal at the boundary (``to_amount``), quantized to 6 places (``MICRO``) as the JSON contract
writes money, never used for billing. Observed spend is summed exactly (``exact``), never
through the float series.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

Metric = Literal["cost", "tokens"]
METRIC_KEYS: dict[str, str] = {"cost": "cost_usd", "tokens": "total_tokens"}
SEASON = 7  # weekly seasonality of daily series
TRENDS: tuple[str | None, ...] = ("add", None)  # damped additive trend, or none: the lower AICc wins
INIT = "estimated"  # initial level, trend and season fitted with the smoothing parameters
SEED = 20261125  # fixed: the same data gives the same forecast
REPETITIONS = 1000
MICRO = Decimal("0.000001")  # money from a model: 6 places, as JSON writes money
CALIBRATION_ORIGINS = 4
DEFAULT_LEVEL_ERROR = 0.15  # log-scale error of a horizon total when the history cannot measure it


def dense(rows: Iterable[dict[str, Any]], since: date, until: date, key: str) -> list[float]:
    """The values of ``key`` per day from ``since`` to ``until`` (inclusive), 0 for missing days."""
    by_day: dict[date, float] = {}
    for r in rows:
        v = r.get(key)
        if v is not None:
            by_day[r["date"]] = by_day.get(r["date"], 0.0) + float(v)
    n = (until - since).days + 1
    return [by_day.get(since + timedelta(days=i), 0.0) for i in range(max(n, 0))]


def exact(rows: Iterable[dict[str, Any]], first: date, last: date, key: str) -> tuple[Decimal, ...]:
    """The exact sums of ``key`` per day from ``first`` to ``last`` (inclusive), 0 for missing
    days: the observed spend as ``report daily`` sums it (Decimal; tokens as whole numbers)."""
    by_day: dict[date, Decimal] = {}
    for r in rows:
        v = r.get(key)
        if v is not None and first <= r["date"] <= last:
            by_day[r["date"]] = by_day.get(r["date"], Decimal(0)) + (v if isinstance(v, Decimal) else Decimal(v))
    return tuple(by_day.get(first + timedelta(days=i), Decimal(0)) for i in range((last - first).days + 1))


def to_amount(value: float, metric: Metric) -> Decimal | int:
    """A model output (never below 0) in the metric's unit: USD Decimal to 6 places
    (``MICRO``), or whole tokens."""
    if metric == "tokens":
        return round(max(value, 0.0))
    return Decimal(repr(max(float(value), 0.0))).quantize(MICRO)


def _fit(y: np.ndarray, trends: tuple[str | None, ...] = TRENDS) -> Any:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # type: ignore[import-untyped]

    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend in trends:
            model = ExponentialSmoothing(
                y,
                trend=trend,
                damped_trend=trend is not None,
                seasonal="add",
                seasonal_periods=SEASON,
                initialization_method=INIT,
            )
            fits.append(model.fit())
    return min(fits, key=lambda f: f.aicc)


def _longest_pause(y: Iterable[float]) -> int:
    """The longest run of consecutive days without usage (value <= 0)."""
    longest = run = 0
    for v in y:
        run = run + 1 if v <= 0 else 0
        longest = max(longest, run)
    return longest


def _trailing_pause(y: np.ndarray) -> int:
    """The days without usage at the end of ``y``."""
    run = 0
    for v in y[::-1]:
        if v > 0:
            break
        run += 1
    return run


def level_error(y: np.ndarray, trend: str | None = None) -> float:
    """RMS of log(actual / forecast) of the horizon total over up to ``CALIBRATION_ORIGINS``
    rolling origins inside the history (7 days apart, each fit on >= 4 weeks, horizon
    min(30, n - 28) days), refitting the trend choice ``trend`` of the full fit;
    ``DEFAULT_LEVEL_ERROR`` when the history is too short for one.

    An origin whose fit ends in a pause, or whose actual window holds one, longer than any pause
    of the last 4 weeks is skipped: a fit ending in a holiday forecasts ~0 against the usage that
    came back (log error ~4), and that one outlier would scale every simulated path (P90 33x a
    flat rate). It measures a pause the recent history does not have, not the model's error on
    the usage the forecast continues."""
    import numpy as np

    n = len(y)
    h = min(30, n - 28)
    recent_pause = _longest_pause(y[-28:])
    errs = []
    for k in range(CALIBRATION_ORIGINS):
        o = n - h - 7 * k
        if h < 7 or o < 28:
            break
        if _trailing_pause(y[:o]) > recent_pause or _longest_pause(y[o : o + h]) > recent_pause:
            continue
        fc = float(np.clip(_fit(y[:o], (trend,)).forecast(h), 0.0, None).sum())
        act = float(y[o : o + h].sum())
        if fc > 0 and act > 0:
            errs.append(float(np.log(act / fc)))
    return float(np.sqrt(np.mean(np.square(errs)))) if errs else DEFAULT_LEVEL_ERROR


def holt_winters_paths(history: Sequence[float], horizon: int, *, repetitions: int = REPETITIONS) -> np.ndarray:
    """Simulated future daily values, shape (horizon, repetitions), never below 0.

    Holt-Winters exponential smoothing (statsmodels) with additive weekly seasonality and either
    an additive damped trend or no trend, whichever has the lower AICc (as ETS model selection
    does; a noisy flat series should not get a trend), fitted on the history scaled to mean 1; day-to-day noise from ``simulate``
    with bootstrapped residuals, anchored at the end. The fitted smoothing often leaves the
    level and trend nearly fixed, which alone gives far too narrow a range for a 30-day total
    (41 % P10-P90 coverage in the backtest): each path is also multiplied by exp(sigma * z),
    z standard normal, sigma = ``level_error`` (the model's own horizon-total error measured on
    the history). Fixed seed: the same data give the same paths.
    """
    import numpy as np

    y = np.asarray(history, dtype=float)
    scale = float(y.mean()) if len(y) else 0.0
    if scale <= 0:
        return np.zeros((horizon, repetitions))
    y = y / scale
    fit = _fit(y)
    rng = np.random.default_rng(SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = fit.simulate(
            horizon,
            repetitions=repetitions,
            error="add",
            anchor="end",
            random_errors="bootstrap",
            random_state=np.random.RandomState(SEED),
        )
    out = np.clip(np.asarray(paths, dtype=float).reshape(horizon, repetitions), 0.0, None)
    out = out * np.exp(level_error(y, fit.model.trend) * rng.standard_normal(repetitions))
    result: np.ndarray = out * scale
    return result


def run_rate(history: Sequence[float], days: int = 30) -> float:
    """Mean of the last ``days`` days (or all there are)."""
    tail = list(history)[-days:]
    return sum(tail) / len(tail) if tail else 0.0
