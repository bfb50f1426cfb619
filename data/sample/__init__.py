"""The sample district modelled on Bijiang, Tongren: ``generate`` builds it from a seed (pure),
``load`` writes it into PostGIS in one transaction."""

from __future__ import annotations

from data.sample.district import SampleDistrict
from data.sample.generate import generate, small_district
from data.sample.load import load

__all__ = ["SampleDistrict", "generate", "load", "small_district"]
