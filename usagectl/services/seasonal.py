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
# isolated outliers (``outliers``), cleaned before the fit and added back as occasional jumps
OUTLIER_WEEKS = 3  # the baseline: median of the same weekday up to 3 weeks either side
OUTLIER_MIN_SAME = 3  # ... of at least 3 such days (a day with fewer is never an outlier)
OUTLIER_Z = 5.0  # robust z of a day's residual at or beyond which it is an outlier
OUTLIER_NEAR_Z = 2.0  # consecutive days this far out on the same side are one run with it
OUTLIER_MAX_RUN = 3  # a longer run is a level shift or a pause: followed, not cleaned
OUTLIER_MAX_SHARE = 0.1  # more outlier days than this share: they are the series' nature, none cleaned
OUTLIER_REL_FLOOR = 0.1  # the scale is at least 0.1 x the baseline (a flat series is not infinitely sure)
MAD_SCALE = 1.4826


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


def _same_weekday_baseline(y: np.ndarray) -> np.ndarray:
    """Per day: the median of the same weekday up to ``OUTLIER_WEEKS`` weeks before and after
    it (the day itself left out), NaN with fewer than ``OUTLIER_MIN_SAME`` of them. Two-sided
    inside the history, one-sided at its ends, so the last day is judged against the weeks
    before it."""
    import numpy as np

    n = len(y)
    out = np.full(n, np.nan)
    for t in range(n):
        same = [y[u] for k in range(1, OUTLIER_WEEKS + 1) for u in (t - 7 * k, t + 7 * k) if 0 <= u < n]
        if len(same) >= OUTLIER_MIN_SAME:
            out[t] = float(np.median(same))
    return out


def outliers(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the isolated outlier days, the baseline that replaces them), as R's
    ``forecast::tsclean`` does before a fit, with the project's robust weekly rule (as
    ``anomalies``): residual = value − the same-weekday median (``_same_weekday_baseline``);
    scale = 1.4826 × MAD of the residuals, at least ``OUTLIER_REL_FLOOR`` × the baseline; z =
    residual / scale.

    * A day with |z| ≥ ``OUTLIER_Z`` is an outlier when its run (the consecutive days with |z| ≥
      ``OUTLIER_NEAR_Z`` on the same side) lasts at most ``OUTLIER_MAX_RUN`` days; the whole run
      is cleaned (a spike and its shoulders). A longer run is usage that changed (a level shift,
      a pause): the model must follow it, so it is kept.
    * More outlier days than ``OUTLIER_MAX_SHARE`` of the history: the spikes are the series'
      nature (a model used now and then), nothing is cleaned.
    """
    import numpy as np

    n = len(y)
    mask = np.zeros(n, dtype=bool)
    base = _same_weekday_baseline(y)
    judged = ~np.isnan(base)
    if not judged.any():
        return mask, base
    res = np.where(judged, y - np.where(judged, base, 0.0), 0.0)
    r = res[judged]
    mad = MAD_SCALE * float(np.median(np.abs(r - np.median(r))))
    scale = np.maximum(np.maximum(mad, OUTLIER_REL_FLOOR * np.abs(np.where(judged, base, 0.0))), 1e-12)
    z = np.where(judged, res / scale, 0.0)
    t = 0
    while t < n:
        if abs(z[t]) < OUTLIER_NEAR_Z:
            t += 1
            continue
        u = t
        while u < n and abs(z[u]) >= OUTLIER_NEAR_Z and np.sign(z[u]) == np.sign(z[t]):
            u += 1
        if u - t <= OUTLIER_MAX_RUN and np.abs(z[t:u]).max() >= OUTLIER_Z:
            mask[t:u] = True
        t = u
    if mask.sum() > OUTLIER_MAX_SHARE * n:
        mask[:] = False
    return mask, base


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

    Isolated outliers (``outliers``: a one-day spike such as yesterday's $25 in a $2.50/day
    history) are replaced by their same-weekday baseline before the fit and the error
    measurement: left in, the fit took the last one as the new level or weekly pattern (P50 3-10x
    the steady spend) and the bootstrapped residuals carried it into every path. They happened,
    though, and may again: each simulated day gets one of the removed excesses (value − baseline,
    drawn at random) with the path's daily probability 1 − exp(−rate), the rate drawn per path
    from Gamma(count, 1 / days), the rate's posterior after that many in that many days (a
    Poisson–gamma mixture), so the paths keep their mean and an upper tail without a one-off
    moving the likely value. A level shift (several days out on the same side) is not an
    outlier and is followed.
    """
    import numpy as np

    y = np.asarray(history, dtype=float)
    scale = float(y.mean()) if len(y) else 0.0
    if scale <= 0:
        return np.zeros((horizon, repetitions))
    y = y / scale
    mask, base = outliers(y)
    excess = (y - base)[mask]
    y = np.where(mask, base, y)
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
    if len(excess):
        # k outliers in n days: a path's daily rate is drawn from Gamma(k, 1/n), the rate's
        # posterior, not fixed at k / n: with one spike in the history the rate is barely known,
        # so the paths spread (no recurrence in some, several in others) while their mean stays k / n
        rate = rng.gamma(len(excess), 1.0 / len(y), size=repetitions)
        hit = rng.random((horizon, repetitions)) < -np.expm1(-rate)
        out = np.clip(out + hit * rng.choice(excess, size=(horizon, repetitions)), 0.0, None)
    result: np.ndarray = out * scale
    return result


def run_rate(history: Sequence[float], days: int = 30) -> float:
    """Mean of the last ``days`` days (or all there are)."""
    tail = list(history)[-days:]
    return sum(tail) / len(tail) if tail else 0.0
