"""What the tests share, each once: running the CLI as a user does (``cli``), a loopback portal (``portal``), files
in every container the portals offer (``containers``), synthetic Melbourne counts with known answers
(``synthetic``), parsing one file with the real landing code (``landing``), the real samples' names (``samples``)
and reading a lake on S3 (``s3``). The fixtures built on them live in ``tests/conftest.py``."""
