"""The synthetic SEND world behind every demo file: one set of LA numbers that all publications agree on.

Each place (3-digit LA) gets traits drawn from the seed - size, deprivation, how readily it issues EHC plans,
how quickly it issues them - and from those, year by year: pupils, pupils with an EHC plan or SEN support,
the January EHC plan caseload, requests for assessment, new plans by how long they took, appeals, and
outcomes (KS2, KS4, post-16). LAIT, the EHC plans release and the other files are views of these numbers,
so a KPI read from two sources agrees the way the real publications do.

National levels follow the published England figures approximately; every LA value is synthetic. The demo
LA, Stockport (356), has a storyline: EHC plan timeliness collapsing in 2023-2024.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from demo import geography

DEMO_LA = "356"  # Stockport

# England levels by year (approximately as published); years outside a table take its nearest year.
# fmt: off
EHCP_PREVALENCE = {2016: 2.8, 2017: 2.8, 2018: 2.9, 2019: 3.1, 2020: 3.3, 2021: 3.7, 2022: 4.0, 2023: 4.3,
                   2024: 4.8, 2025: 5.3}
SEN_SUPPORT_PREVALENCE = {2016: 11.6, 2017: 11.6, 2018: 11.7, 2019: 11.9, 2020: 12.1, 2021: 12.2, 2022: 12.6,
                          2023: 13.0, 2024: 13.6, 2025: 14.2}
WITHIN_20_WEEKS = {2016: 55.7, 2017: 61.3, 2018: 64.9, 2019: 58.7, 2020: 55.6, 2021: 59.9, 2022: 49.2,
                   2023: 50.3, 2024: 46.4}
NEW_PLANS_PER_CASE = {2016: 0.155, 2019: 0.15, 2020: 0.152, 2021: 0.142, 2022: 0.138, 2023: 0.156,
                      2024: 0.157, 2025: 0.157}
REQUESTS_PER_CASE = {2016: 0.21, 2017: 0.22, 2018: 0.23, 2019: 0.233, 2020: 0.21, 2021: 0.24, 2022: 0.242,
                     2023: 0.267, 2024: 0.268}
REFUSAL_SHARE = {2016: 0.24, 2019: 0.23, 2022: 0.2, 2023: 0.22, 2024: 0.25}
APPEAL_RATE = {2016: 1.3, 2017: 1.5, 2018: 1.6, 2019: 1.7, 2020: 1.7, 2021: 1.8, 2022: 2.3, 2023: 2.5, 2024: 3.2}
# Outcomes: None where the measure was not published (no KS2 tests or Progress 8 in 2020 and 2021).
KS2_RWM_EHCP = {2016: 7, 2017: 8, 2018: 9, 2019: 9, 2020: None, 2021: None, 2022: 7, 2023: 8, 2024: 9, 2025: 9}
KS2_RWM_SUPPORT = {2016: 16, 2017: 21, 2018: 24, 2019: 25, 2020: None, 2021: None, 2022: 21, 2023: 24, 2024: 26,
                   2025: 29}
ATTAINMENT8_EHCP = {2016: 17.0, 2017: 13.9, 2018: 13.5, 2019: 13.7, 2020: 15.2, 2021: 15.5, 2022: 14.3,
                    2023: 14.0, 2024: 14.2, 2025: 14.8}
ATTAINMENT8_SUPPORT = {2016: 36.2, 2017: 31.9, 2018: 32.0, 2019: 32.6, 2020: 36.0, 2021: 36.6, 2022: 34.9,
                       2023: 33.3, 2024: 33.1, 2025: 33.8}
PROGRESS8_EHCP = {2016: -1.03, 2017: -1.04, 2018: -1.09, 2019: -1.17, 2020: None, 2021: None, 2022: -1.33,
                  2023: -1.12, 2024: -1.13}
PROGRESS8_SUPPORT = {2016: -0.38, 2017: -0.43, 2018: -0.43, 2019: -0.43, 2020: None, 2021: None, 2022: -0.47,
                     2023: -0.45, 2024: -0.45}
SEND_IN_EDUCATION_16_17 = {2018: 89.0, 2019: 89.2, 2020: 89.5, 2021: 89.4, 2022: 88.7, 2023: 87.2, 2024: 87.1,
                           2025: 87.4}
EHCP_SUSTAINED_DESTINATION = {2017: 89.8, 2018: 89.5, 2019: 89.0, 2020: 88.6, 2021: 88.0, 2022: 87.2,
                              2023: 87.0}
# fmt: on

# Stockport's share of new plans issued within 20 weeks (excluding exceptions): strong, then collapsing.
DEMO_LA_WITHIN_20_WEEKS = {
    2016: 0.93,
    2017: 0.94,
    2018: 0.95,
    2019: 0.92,
    2020: 0.9,
    2021: 0.87,
    2022: 0.79,
    2023: 0.55,
    2024: 0.17,
}

# Median school population by kind of council, and deprivation by region (0 = least deprived).
MEDIAN_PUPILS = {"E09": 38_000, "E08": 50_000, "E06": 30_000, "E10": 115_000}
TINY_PLACES = {"201": 300, "420": 260}  # City of London, Isles of Scilly
REGION_DEPRIVATION = {
    "E12000001": 0.65,
    "E12000002": 0.6,
    "E12000003": 0.58,
    "E12000004": 0.48,
    "E12000005": 0.58,
    "E12000006": 0.4,
    "E12000007": 0.55,
    "E12000008": 0.33,
    "E12000009": 0.38,
}

# Timeliness cells of a year's new plans: (exception?, how long it took).
TIMELINESS_CELLS = (
    "within_20",
    "weeks_20_52",
    "over_52",
    "exception_within_20",
    "exception_weeks_20_52",
    "exception_over_52",
)
# Requests for assessment by outcome and whether the decision took more than six weeks.
REQUEST_CELLS = ("assess_6_weeks", "assess_late", "refuse_6_weeks", "refuse_late", "not_decided", "withdrawn")


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A random stream for one purpose, stable across runs and independent of other purposes."""
    return np.random.default_rng([seed, *(zlib.crc32(str(key).encode()) for key in keys)])


def level(table: dict[int, float | None], year: int) -> float | None:
    """A yearly level, holding the first/last tabled value outside the table; gaps take the previous year."""
    known = sorted(table)
    year = min(max(year, known[0]), known[-1])
    while year not in table:
        year -= 1
    return table[year]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Traits:
    """What a place is like, all arrays aligned with `World.places`."""

    pupils_2016: np.ndarray
    growth: np.ndarray
    deprivation: np.ndarray
    ehcp_propensity: np.ndarray
    support_propensity: np.ndarray
    timeliness: np.ndarray
    attainment: np.ndarray
    participation: np.ndarray
    appeals: np.ndarray
    requests: np.ndarray


class World:
    """Yearly SEND numbers for every place, generated once from the seed and shared by all writers."""

    def __init__(self, seed: int, first_year: int, last_year: int = 2025) -> None:
        self.seed = seed
        self.years = list(range(first_year, last_year + 1))
        self.places = geography.places()
        self._place_index = {place: i for i, place in enumerate(self.places)}
        self.traits = self._draw_traits()
        shape = (len(self.places), len(self.years))
        self.pupils = self._pupils(shape)
        self.ehcp_pupils = self._prevalence(EHCP_PREVALENCE, self.traits.ehcp_propensity, "ehcp_pupils")
        self.support_pupils = self._prevalence(
            SEN_SUPPORT_PREVALENCE, self.traits.support_propensity, "support_pupils"
        )
        self.caseload = np.rint(
            self.ehcp_pupils * 1.33 * np.exp(rng_for(seed, "caseload").normal(0, 0.03, shape))
        )
        self.timeliness = self._timeliness_cells()
        self.requests = self._request_cells()
        self.appeals, self.appealable_decisions = self._appeals()
        self.no_return = self._no_returns()
        self.outcomes = self._outcomes()

    # -- lookups -----------------------------------------------------------------------------------
    def row(self, place: str) -> int:
        """Array row of a place."""
        return self._place_index[place]

    def index(self, place: str, year: int) -> tuple[int, int]:
        """Array position of a place and year."""
        return self._place_index[place], year - self.years[0]

    def value(self, series: np.ndarray, place: str, year: int) -> float:
        """One place-year of a (places x years) series."""
        return float(series[self.index(place, year)])

    def total(self, series: np.ndarray, places: list[str], year: int) -> np.ndarray:
        """A series summed over places for one year (cells stay split along any further axis)."""
        rows = [self._place_index[place] for place in places]
        return series[rows, year - self.years[0]].sum(axis=0)

    def outcome(self, measure: str, place: str, year: int) -> float | None:
        """An outcome measure (KS2, KS4, post-16) for a place and year, None where not published."""
        values = self.outcomes[measure]
        i, j = self.index(place, year)
        return None if np.isnan(values[i, j]) else float(values[i, j])

    # -- traits ------------------------------------------------------------------------------------
    def _draw_traits(self) -> Traits:
        rng = rng_for(self.seed, "traits")
        n = len(self.places)
        kinds = [geography.first_row(place).entity_code for place in self.places]
        regions = [geography.first_row(place).region_code for place in self.places]
        median = np.array([MEDIAN_PUPILS[kind] for kind in kinds], dtype=float)
        pupils = median * np.exp(rng.normal(0, 0.35, n))
        for place, size in TINY_PLACES.items():
            pupils[self._place_index[place]] = size
        urban = np.array(
            [0.12 if kind in ("E08", "E09") else (-0.1 if kind == "E10" else 0.0) for kind in kinds]
        )
        deprivation = np.clip(
            np.array([REGION_DEPRIVATION[r] for r in regions]) + urban + rng.normal(0, 0.13, n), 0.02, 0.98
        )
        traits = {
            "pupils_2016": pupils,
            "growth": rng.normal(0.004, 0.006, n),
            "deprivation": deprivation,
            "ehcp_propensity": np.exp(rng.normal(0, 0.18, n)) * (1 + 0.25 * (deprivation - 0.5)),
            "support_propensity": np.exp(rng.normal(0, 0.12, n)) * (1 + 0.2 * (deprivation - 0.5)),
            "timeliness": rng.normal(0, 1.3, n),
            "attainment": rng.normal(0, 1, n) - 1.2 * (deprivation - 0.5),
            "participation": rng.normal(0, 1, n) - 0.8 * (deprivation - 0.5),
            "appeals": np.exp(rng.normal(0, 0.45, n)),
            "requests": np.exp(rng.normal(0, 0.15, n)),
        }
        self._merge_predecessors(traits)
        return Traits(**traits)

    def _merge_predecessors(self, traits: dict[str, np.ndarray]) -> None:
        """An abolished LA is the union of (shares of) its successors: summed size, size-weighted traits."""
        for place, shares in geography.PREDECESSOR_SHARES.items():
            i = self._place_index[place]
            parts = [(self._place_index[successor], share) for successor, share in shares.items()]
            weights = np.array([traits["pupils_2016"][j] * share for j, share in parts])
            for name, values in traits.items():
                if name != "pupils_2016":
                    values[i] = float(np.average([values[j] for j, _ in parts], weights=weights))
            traits["pupils_2016"][i] = weights.sum()

    # -- yearly series -------------------------------------------------------------------------------
    def _pupils(self, shape: tuple[int, int]) -> np.ndarray:
        offsets = np.array(self.years) - 2016
        trend = (1 + self.traits.growth[:, None]) ** offsets[None, :]
        wobble = np.exp(rng_for(self.seed, "pupils").normal(0, 0.004, shape))
        return np.rint(self.traits.pupils_2016[:, None] * trend * wobble)

    def _prevalence(self, table: dict[int, float], propensity: np.ndarray, key: str) -> np.ndarray:
        national = np.array([level(table, year) for year in self.years]) / 100
        noise = np.exp(rng_for(self.seed, key).normal(0, 0.04, self.pupils.shape))
        return np.rint(self.pupils * national[None, :] * propensity[:, None] * noise)

    def _within_20_weeks_probability(
        self, expected_plans: np.ndarray, exception_share: np.ndarray
    ) -> np.ndarray:
        """Probability a non-exception plan is issued within 20 weeks, calibrated to England's level each year."""
        rng = rng_for(self.seed, "timeliness drift")
        drift = np.cumsum(rng.normal(0, 0.45, expected_plans.shape), axis=1)
        drift -= drift[:, [min(max(2016 - self.years[0], 0), len(self.years) - 1)]]
        logits = self.traits.timeliness[:, None] + drift
        probability = np.empty_like(logits)
        for j, year in enumerate(self.years):
            weights = expected_plans[:, j] * (1 - 0.4 * exception_share[:, j])
            target = level(WITHIN_20_WEEKS, year) / 100
            low, high = -8.0, 8.0
            for _ in range(50):
                shift = (low + high) / 2
                achieved = np.average(_sigmoid(logits[:, j] + shift), weights=weights)
                low, high = (shift, high) if achieved < target else (low, shift)
            probability[:, j] = _sigmoid(logits[:, j] + (low + high) / 2)
        demo = self._place_index[DEMO_LA]
        probability[demo] = [level(DEMO_LA_WITHIN_20_WEEKS, year) for year in self.years]
        return probability

    def _timeliness_cells(self) -> np.ndarray:
        """New plans issued in each calendar year, split into TIMELINESS_CELLS (places x years x 6)."""
        rng = rng_for(self.seed, "timeliness")
        shares = np.array([level(NEW_PLANS_PER_CASE, year) for year in self.years])
        expected = self.caseload * shares[None, :] * np.exp(rng.normal(0, 0.08, self.caseload.shape))
        exception_share = np.clip(rng.normal(0.06, 0.03, self.caseload.shape), 0.0, 0.3)
        within = self._within_20_weeks_probability(expected, exception_share)
        over_year = np.clip(0.08 + 0.4 * (1 - within), 0.02, 0.6)
        cells = np.zeros((*self.caseload.shape, len(TIMELINESS_CELLS)), dtype=np.int64)
        plans = rng.poisson(expected)
        for i in range(len(self.places)):
            for j in range(len(self.years)):
                p, e, q = within[i, j], exception_share[i, j], over_year[i, j]
                late = 1 - p
                exception_within = 0.6 * p
                probabilities = [
                    (1 - e) * p,
                    (1 - e) * late * (1 - q),
                    (1 - e) * late * q,
                    e * exception_within,
                    e * (1 - exception_within) * (1 - q),
                    e * (1 - exception_within) * q,
                ]
                cells[i, j] = rng.multinomial(plans[i, j], probabilities)
        return cells

    def _request_cells(self) -> np.ndarray:
        """Requests for an EHC needs assessment by REQUEST_CELLS (places x years x 6)."""
        rng = rng_for(self.seed, "requests")
        shares = np.array([level(REQUESTS_PER_CASE, year) for year in self.years])
        refusal = np.array([level(REFUSAL_SHARE, year) for year in self.years])
        expected = self.caseload * shares[None, :] * self.traits.requests[:, None]
        requests = rng.poisson(expected * np.exp(rng.normal(0, 0.06, expected.shape)))
        cells = np.zeros((*requests.shape, len(REQUEST_CELLS)), dtype=np.int64)
        for i in range(len(self.places)):
            on_time = float(np.clip(rng.normal(0.88, 0.08), 0.4, 0.995))
            for j in range(len(self.years)):
                refused = float(np.clip(refusal[j] * np.exp(rng.normal(0, 0.3)), 0.02, 0.6))
                open_, withdrawn = 0.07, 0.01
                assess = 1 - refused - open_ - withdrawn
                cells[i, j] = rng.multinomial(
                    requests[i, j],
                    [
                        assess * on_time,
                        assess * (1 - on_time),
                        refused * on_time,
                        refused * (1 - on_time),
                        open_,
                        withdrawn,
                    ],
                )
        return cells

    def _appeals(self) -> tuple[np.ndarray, np.ndarray]:
        """SEND Tribunal appeals and the appealable decisions they are a rate of (refusals + plans held)."""
        rng = rng_for(self.seed, "appeals")
        refusals = self.requests[:, :, 2] + self.requests[:, :, 3]
        decisions = refusals + self.caseload
        rates = np.array([level(APPEAL_RATE, year) for year in self.years]) / 100
        probability = np.clip(
            rates[None, :] * self.traits.appeals[:, None] * np.exp(rng.normal(0, 0.2, decisions.shape)),
            0,
            0.5,
        )
        return rng.binomial(decisions.astype(np.int64), probability), decisions

    def _no_returns(self) -> set[tuple[str, int]]:
        """LA-years whose SEN2 timeliness return was not published (shown as `x`), as happened in 2022-23."""
        rng = rng_for(self.seed, "no returns")
        years = (2022, 2022, 2022, 2023)
        candidates = [
            place
            for place in geography.places_in_force(geography.year_end(2022))
            & geography.places_in_force(geography.year_end(2023))
            if place not in (DEMO_LA, *TINY_PLACES)
        ]
        picked = rng.choice(sorted(candidates, key=int), size=len(years), replace=False)
        return {(str(place), year) for place, year in zip(picked, years, strict=True)}

    def _outcomes(self) -> dict[str, np.ndarray]:
        """KS2, KS4 and post-16 measures per place-year (NaN where the measure was not published)."""
        rng = rng_for(self.seed, "outcomes")
        shape = self.pupils.shape
        attainment = self.traits.attainment[:, None]
        participation = self.traits.participation[:, None]
        specs = {
            # measure: (England table, trait, trait weight, persistent sd, yearly sd, lower, upper)
            "ks2_rwm_ehcp": (KS2_RWM_EHCP, attainment, 2.5, 1.5, 2.0, 0, 45),
            "ks2_rwm_support": (KS2_RWM_SUPPORT, attainment, 4.0, 2.5, 3.0, 0, 70),
            "attainment8_ehcp": (ATTAINMENT8_EHCP, attainment, 1.8, 1.5, 1.8, 2, 60),
            "attainment8_support": (ATTAINMENT8_SUPPORT, attainment, 2.5, 1.5, 1.5, 10, 70),
            "progress8_ehcp": (PROGRESS8_EHCP, attainment, 0.18, 0.12, 0.15, -3, 2),
            "progress8_support": (PROGRESS8_SUPPORT, attainment, 0.2, 0.1, 0.12, -2, 2),
            "send_in_education_16_17": (SEND_IN_EDUCATION_16_17, participation, 2.5, 1.5, 1.8, 50, 100),
            "ehcp_sustained_destination": (EHCP_SUSTAINED_DESTINATION, participation, 2.0, 1.5, 2.5, 50, 100),
        }
        outcomes = {}
        for measure, (table, trait, weight, persistent, yearly, lower, upper) in specs.items():
            national = np.array([np.nan if level(table, y) is None else level(table, y) for y in self.years])
            values = (
                national[None, :]
                + weight * trait
                + rng.normal(0, persistent, (shape[0], 1))
                + rng.normal(0, yearly, shape)
            )
            outcomes[measure] = np.clip(values, lower, upper)
        return outcomes
