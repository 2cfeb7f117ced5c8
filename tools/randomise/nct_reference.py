"""Reference values of the noncentral t CDF (scipy.stats.nct) for rct-random's
tests. Run: python3 nct_reference.py > ../../crates/random/tests/fixtures/nct_scipy.json"""
import json
import scipy
from scipy.stats import nct

cases = [(t, df, d) for t in (-2.0, -0.5, 0.0, 1.0, 2.0, 3.5) for df in (4, 18, 58) for d in (-1.5, 0.0, 0.7, 2.5, 6.0)]
print(json.dumps({"scipy": scipy.__version__,
                  "cases": [{"t": t, "df": df, "delta": d, "cdf": float(nct.cdf(t, df, d))} for t, df, d in cases]}, indent=1))
