"""cropcast: in-season crop-yield forecasting.

One import name for the whole project. The package root holds the basics every stage may
import (:mod:`cropcast.errors`, :mod:`cropcast.atomic`, :mod:`cropcast.days`,
:mod:`cropcast.grid`, :mod:`cropcast.checks`, :mod:`cropcast.regions`,
:mod:`cropcast.schema`, :mod:`cropcast.manifest`, :mod:`cropcast.workdir`); the stages
are its sub-packages:

- :mod:`cropcast.features`: readers of the data users have (``sources``), the simulated
  world (``world``), the zonal engine, imagery and weather features and the feature store;
- :mod:`cropcast.models`: estimators following the scikit-learn contract;
- :mod:`cropcast.forecast`: evaluation (backtests), reporting (plots, tracking) and the
  command line;
- :mod:`cropcast.configs`: the Hydra configs of the commands.

Importing ``cropcast`` loads none of them.
"""

from pkgutil import extend_path

__all__ = ["__version__"]

__version__ = "0.2.0"

# The stages live in the repository's top-level folders (features/, models/, forecast/,
# configs/), which the install maps under this package. Python started in the checkout
# finds this folder first, without them: look for the rest of the package in every
# `cropcast` folder on sys.path, the install's included (the standard idiom for a package
# spread over several folders; it only lists folders).
__path__ = extend_path(__path__, __name__)
